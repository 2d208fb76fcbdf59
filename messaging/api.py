"""The chat over HTTP (docs/protocols/chat.md): `POST /auth` (token dialect) and the nane read API."""

import time
from urllib.parse import unquote

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.response import Response

from chatsite.core.api import PublicAPIView
from chatsite.core.names import MAX_NAME_LENGTH
from chatsite.core.schema import ERROR
from messaging import protocol, services

STARTED_NS = time.monotonic_ns()
ROOMS_PREFIX = "/api/rooms/"


class SenderSchema(serializers.Serializer):
    username = serializers.CharField()


class MessageSchema(serializers.Serializer):
    """A stored chat message as the nane dialect and the read API show it (documentation only)."""

    id = serializers.CharField(required=False, help_text="The sender's own id, when it gave one.")
    room = serializers.CharField()
    seq = serializers.IntegerField(help_text="The message's number in its room: from 1, up by 1 in commit order.")
    created = serializers.DateTimeField()
    sender = SenderSchema()
    text = serializers.CharField()


class RoomSchema(serializers.Serializer):
    name = serializers.CharField()
    last_message = MessageSchema(allow_null=True)


class AuthView(PublicAPIView):
    @extend_schema(
        summary="Reserve a nickname and get a token-dialect token",
        request=inline_serializer("AuthRequest", {"nickname": serializers.CharField()}),
        parameters=[OpenApiParameter("nickname", str, required=False, description="Instead of the body.")],
        responses={
            201: inline_serializer("Token", {"token": serializers.CharField()}),
            400: ERROR,
            403: ERROR,
        },
    )
    def post(self, request):
        try:
            body = request.data if hasattr(request.data, "get") else {}
        except (ParseError, UnsupportedMediaType) as error:
            return Response({"error": str(error.detail)}, status=status.HTTP_400_BAD_REQUEST)
        nickname = body.get("nickname") or request.query_params.get("nickname") or ""
        try:
            token = services.issue_token(nickname.strip() if isinstance(nickname, str) else "")
        except services.ChatError as error:
            return Response({"error": str(error)}, status=status.HTTP_403_FORBIDDEN)
        return Response({"token": token}, status=status.HTTP_201_CREATED)


class SettingsView(PublicAPIView):
    @extend_schema(summary="Server limits and uptime (ns)", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(
            {
                "result": {
                    "max_message_length": settings.CHAT_MAX_MESSAGE_LENGTH,
                    "max_room_title_length": protocol.MAX_ROOM_NAME_LENGTH,
                    "max_username_length": MAX_NAME_LENGTH,
                    "max_messages_in_room": settings.CHAT_MAX_MESSAGES_IN_ROOM,
                    "uptime": time.monotonic_ns() - STARTED_NS,
                }
            }
        )


class UsernameCheckView(PublicAPIView):
    @extend_schema(
        summary="Whether `/ws?username=NAME` would accept this name now, and why not",
        parameters=[OpenApiParameter("username", str, required=True)],
        responses={
            200: inline_serializer(
                "UsernameFree", {"result": inline_serializer("ChatUsername", {"username": serializers.CharField()})}
            ),
            403: ERROR,
            409: ERROR,
        },
    )
    def get(self, request):
        try:
            username = services.nane_username(request.query_params.get("username", ""))
        except services.UsernameRefused as error:
            # 403 as `POST /auth` refuses a nickname; 409 while someone else holds it.
            refused = status.HTTP_403_FORBIDDEN if error.invalid else status.HTTP_409_CONFLICT
            return Response({"error": str(error)}, status=refused)
        return Response({"result": {"username": username}})


class RoomListView(PublicAPIView):
    @extend_schema(
        summary="Every room with its last message",
        responses={200: inline_serializer("RoomList", {"result": RoomSchema(many=True)})},
    )
    def get(self, request):
        return Response({"result": services.rooms_with_last_message()})


def parse_room_path(raw_path):
    """`(name, wants_history)` from a still-encoded `/api/rooms/...` path, or None.

    Split before decoding, so `%2F` belongs to the name (docs/protocols/chat.md).
    """
    rest = raw_path[len(ROOMS_PREFIX) :]
    parts = rest.split("/")
    if len(parts) == 2 and parts[1] == "history":
        wants_history = True
    elif len(parts) == 1:
        wants_history = False
    else:
        return None
    name = unquote(parts[0], errors="strict")
    return (name, wants_history) if name.strip() else None


class RoomView(PublicAPIView):
    """`/api/rooms/{name}` and `/api/rooms/{name}/history`, matched on the raw path."""

    @extend_schema(
        summary="A room, or its history with `/history` appended",
        operation_id="api_room_or_history",
        parameters=[
            OpenApiParameter(
                "rest", str, OpenApiParameter.PATH, description="URL-encoded room name, then `/history` or nothing."
            ),
            OpenApiParameter("before", int, description="History: only messages numbered below this (page backwards)."),
            OpenApiParameter(
                "limit",
                int,
                description="History: at most this many, the newest (1 to CHAT_HISTORY_PAGE_MAX, 1024 by default).",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR},
    )
    def get(self, request, rest=None):
        # The ASGI server's scope comes through the WSGI bridge (chatsite/asgi.py).
        raw = request.META.get("asgi.scope", {}).get("raw_path")
        raw_path = raw.decode("latin1") if raw else request.path
        try:
            parsed = parse_room_path(raw_path)
        except UnicodeDecodeError:
            parsed = None
        if parsed is None:
            return Response({"error": "not found: use /api/rooms/{name} or /api/rooms/{name}/history"}, status=404)
        name, wants_history = parsed
        page = {}
        if wants_history:
            try:
                page["before"], page["limit"] = protocol.history_page(
                    request.GET.get("before"), request.GET.get("limit"), settings.CHAT_HISTORY_PAGE_MAX
                )
            except protocol.ProtocolError as error:
                return Response({"error": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        room = services.find_room(name)
        if room is None:
            return Response({"error": f"room {name} not found"}, status=status.HTTP_404_NOT_FOUND)
        return Response({"result": services.history(room, **page) if wants_history else services.room_detail(room)})
