"""The signed `user_username` cookie: who a request or a socket belongs to."""

from urllib.parse import quote, unquote

from django.conf import settings
from django.core import signing
from django.http.cookie import parse_cookie

COOKIE_NAME = "user_username"
COOKIE_SALT = "signaling.user_username"


def signer():
    # Our own signer for writing and reading, rather than set_signed_cookie/get_signed_cookie,
    # because the socket has no HttpRequest and Django keeps its cookie salt rule private.
    return signing.get_cookie_signer(salt=COOKIE_SALT)


def set_user_cookie(response, username, secure=False):
    # Percent-encoded, because Set-Cookie must be ASCII and usernames may be any letters.
    response.set_cookie(
        COOKIE_NAME,
        signer().sign(quote(username, safe="")),
        max_age=settings.SIGNALING_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def clear_user_cookie(response):
    response.delete_cookie(COOKIE_NAME, samesite="Lax")
    response["Clear-Site-Data"] = '"cookies"'


def username_from_cookie(value):
    """The username a cookie value vouches for; None when it is missing, forged or expired."""
    if not value:
        return None
    try:
        return unquote(signer().unsign(value, max_age=settings.SIGNALING_COOKIE_MAX_AGE))
    except signing.BadSignature:
        return None


def username_from_request(request):
    return username_from_cookie(request.COOKIES.get(COOKIE_NAME))


def username_from_scope(scope):
    """The same check for a WebSocket handshake, read from its Cookie headers."""
    cookies = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookies.update(parse_cookie(value.decode("latin1")))
    return username_from_cookie(cookies.get(COOKIE_NAME))
