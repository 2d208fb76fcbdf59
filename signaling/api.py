"""Signaling over DRF (docs/protocols/signaling.md): register, who am I, who is online, kick."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed, ParseError, UnsupportedMediaType
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from chatsite.core.api import FromOurPages, PublicAPIView
from chatsite.core.names import MAX_NAME_LENGTH
from chatsite.core.origin import foreign_page
from signaling import identity, services
from signaling.protocol import USERNAME_PATTERN, ClientError, clean_username

STATUS = inline_serializer("SignalingStatus", {"status": serializers.CharField(), "message": serializers.CharField()})
USERNAME = inline_serializer(
    "Username",
    {"username": serializers.RegexField(USERNAME_PATTERN.pattern, min_length=1, max_length=MAX_NAME_LENGTH)},
)


def answer(status_code, state, message=""):
    return Response({"status": state, "message": message}, status=status_code)


class RegisterView(PublicAPIView):
    @extend_schema(
        summary="Register a username; sets the signed signaling_identity cookie and a plain user_username one",
        request=USERNAME,
        responses={200: STATUS, 400: STATUS, 403: STATUS, 409: STATUS},
    )
    def post(self, request):
        # A hostile page's auto-submitting form would replace its visitor's identity cookie.
        if refusal := foreign_page(request.META):
            return answer(status.HTTP_403_FORBIDDEN, "FORBIDDEN", refusal)
        try:
            data = request.data
        except (ParseError, UnsupportedMediaType):
            return answer(status.HTTP_400_BAD_REQUEST, "INVALID", "send a JSON object or a form with a username")
        if not hasattr(data, "get"):
            return answer(status.HTTP_400_BAD_REQUEST, "INVALID", "send a JSON object with a username")
        try:
            username = clean_username(data.get("username"))
            user = services.register_user(username)
        except ClientError as error:
            return answer(status.HTTP_400_BAD_REQUEST, "INVALID", str(error))
        except services.UsernameTaken:
            return answer(status.HTTP_409_CONFLICT, "TAKEN", f"username {username} is taken")
        response = answer(status.HTTP_200_OK, "SUCCESS")
        identity.set_user_cookie(response, user, secure=request.is_secure())
        return response


def cookie_user(request):
    """The registered user the identity cookie vouches for (noting the visit), or None."""
    return services.user_of(identity.identity_from_request(request))


def unauthenticated():
    return answer(status.HTTP_401_UNAUTHORIZED, "UNAUTHENTICATED", "no registered user for this cookie: register first")


class UserView(PublicAPIView):
    @extend_schema(summary="Who the signaling_identity cookie says you are", responses={200: USERNAME, 401: STATUS})
    def get(self, request):
        user = cookie_user(request)
        if not user:
            # 401, as the Go original answers: its web app sends a person to register only on 401.
            response = unauthenticated()
            identity.clear_user_cookie(response)
            return response
        return Response({"username": user.username})


ICE_CONFIGURATION = inline_serializer(
    "IceConfiguration",
    {
        "iceServers": serializers.ListField(
            child=inline_serializer(
                "IceServer",
                {
                    "urls": serializers.ListField(child=serializers.CharField()),
                    "username": serializers.CharField(required=False, help_text="<expiry Unix time>:<your username>"),
                    "credential": serializers.CharField(required=False, help_text="base64 HMAC-SHA1 of username"),
                },
            )
        ),
        "iceTransportPolicy": serializers.ChoiceField(choices=["all", "relay"]),
        "expires": serializers.IntegerField(allow_null=True, help_text="Unix time the TURN credential expires"),
    },
)


class IceServersView(PublicAPIView):
    @extend_schema(
        summary="STUN and TURN servers for your calls, with a short-lived TURN credential that names you",
        responses={200: ICE_CONFIGURATION, 401: STATUS},
    )
    def get(self, request):
        user = cookie_user(request)
        if not user:
            # Unlike /v1/user, the cookies are left alone: this refusal changes nothing.
            return no_store(unauthenticated())
        return no_store(Response(services.ice_configuration(user)))


def no_store(response):
    # A credential must not outlive its request in any cache, nor be served to another user.
    response["Cache-Control"] = "no-store"
    return response


class ConnectView(PublicAPIView):
    """`/v1/connect` over plain HTTP: the path only speaks WebSocket, so say how to reach it."""

    # Not in the OpenAPI schema: the endpoint is a WebSocket, and 426 is its only HTTP answer.
    @extend_schema(exclude=True)
    def get(self, request):
        response = answer(
            status.HTTP_426_UPGRADE_REQUIRED,
            "UPGRADE_REQUIRED",
            "/v1/connect is a WebSocket: open it with a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)",
        )
        response["Upgrade"] = "websocket"
        return response


class ActiveUsersView(PublicAPIView):
    @extend_schema(
        summary="Users connected to /v1/connect now",
        responses={
            200: inline_serializer("ActiveUsers", {"users": serializers.ListField(child=serializers.CharField())})
        },
    )
    def get(self, request):
        return Response({"users": services.online_usernames()})


class IsStaffOrDebug(BasePermission):
    message = "Kicking users needs a staff login in the admin (or DEBUG on)."

    def has_permission(self, request, view):
        return settings.DEBUG or bool(request.user and request.user.is_staff)


KICKED = {
    200: inline_serializer("Kicked", {"kicked": serializers.IntegerField(min_value=0)}),
    403: OpenApiResponse(
        description="Not staff while DEBUG is off, a staff session without its CSRF token, or a page of another site."
    ),
    405: OpenApiResponse(description="Any method but POST."),
}


class KickActiveUsersView(APIView):
    """POST only: a GET is what a link or an image on a hostile page makes a staff browser send.

    Staff come with their admin session, and DRF's SessionAuthentication then wants the
    CSRF token; FromOurPages refuses other sites' forms when DEBUG opens the kick to anyone.
    """

    permission_classes = [FromOurPages, IsStaffOrDebug]

    def initial(self, request, *args, **kwargs):
        # The method first: a GET is 405 for everyone, not a 403 that hints it would work with a login.
        if request.method not in ("POST", "OPTIONS"):
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    @extend_schema(summary="Close every /v1/connect socket (4001 KICKED)", request=None, responses=KICKED)
    def post(self, request):
        return Response({"kicked": services.kick_connections()})
