"""Who a request or a socket belongs to: the signed identity cookie, and its plain echo for scripts.

Two cookies, because two readers want different things. The server trusts only
`signaling_identity`: HttpOnly, its value signed, so neither a script nor a hand-made
cookie can claim a name. The original web app decides whether you are registered by
finding `user_username=` in `document.cookie` and shows its value, so `user_username`
carries the plain name, readable by scripts, and is never read by the server.
"""

from urllib.parse import quote, unquote

from django.conf import settings
from django.core import signing
from django.http.cookie import parse_cookie

COOKIE_NAME = "signaling_identity"
COOKIE_SALT = "signaling.identity"
DISPLAY_COOKIE_NAME = "user_username"


def signer():
    # Our own signer for writing and reading, rather than set_signed_cookie/get_signed_cookie,
    # because the socket has no HttpRequest and Django keeps its cookie salt rule private.
    return signing.get_cookie_signer(salt=COOKIE_SALT)


def set_user_cookie(response, user, secure=False):
    """Set both cookies, the identity first: a client that keeps only one Set-Cookie still signs in.

    The identity names the registration (its id, never handed out twice), not only the
    name: a name freed after SIGNALING_USER_IDLE_TTL and registered by someone else is
    not theirs to a cookie of the first owner.
    """
    # Percent-encoded, because Set-Cookie must be ASCII and usernames may be any letters
    # (names of ASCII letters, digits, "_", "-" and "." are unchanged).
    value = quote(user.username, safe="")
    lifetime = {"max_age": settings.SIGNALING_COOKIE_MAX_AGE, "samesite": "Lax", "secure": secure}
    response.set_cookie(COOKIE_NAME, signer().sign(f"{user.pk}.{value}"), httponly=True, **lifetime)
    response.set_cookie(DISPLAY_COOKIE_NAME, value, httponly=False, **lifetime)


def clear_user_cookie(response):
    response.delete_cookie(COOKIE_NAME, samesite="Lax")
    response.delete_cookie(DISPLAY_COOKIE_NAME, samesite="Lax")
    response["Clear-Site-Data"] = '"cookies"'


def identity_from_cookie(value):
    """The (user id, username) a cookie value vouches for; None when it is missing, forged or expired."""
    if not value:
        return None
    try:
        signed = signer().unsign(value, max_age=settings.SIGNALING_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    user_id, _, username = signed.partition(".")
    return (int(user_id), unquote(username)) if user_id.isdigit() and username else None


def identity_from_request(request):
    return identity_from_cookie(request.COOKIES.get(COOKIE_NAME))


def identity_from_scope(scope):
    """The same check for a WebSocket handshake, read from its Cookie headers."""
    cookies = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookies.update(parse_cookie(value.decode("latin1")))
    return identity_from_cookie(cookies.get(COOKIE_NAME))
