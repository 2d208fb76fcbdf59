"""Forged `signaling_identity` cookies: whoever does not hold the server's signature for a name is nobody.

The unsigned cookie (the original's hole, `user_username`) is refused in tests/signaling; here
are the forgeries of someone who has a valid cookie of their own, or who signs with a key of
their own.
"""

from urllib.parse import quote

import pytest
from django.core import signing
from django.test import override_settings
from rest_framework.test import APIClient

from signaling import identity, services
from signaling.models import SignalingUser
from tests.security.conftest import stored_state
from tests.signaling.conftest import register_user


def own_cookie(username, user_id=1):
    """A cookie signed with the server's key, as registering `username` (registration `user_id`) gives."""
    return identity.signer().sign(f"{user_id}.{quote(username, safe='')}")


def flipped(text, index):
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def signature_broken():
    value, _, signature = own_cookie("mallory").rpartition(":")
    return f"{value}:{flipped(signature, len(signature) // 2)}"


def name_swapped_under_own_signature():
    # "1.mallory:<timestamp>:<signature>" with the name replaced, signature kept.
    return own_cookie("mallory").replace("mallory", "bob", 1)


def id_swapped_under_own_signature():
    return "2" + own_cookie("mallory").removeprefix("1")


def signed_with_another_secret_key():
    with override_settings(SECRET_KEY="the attacker's own key, long enough to look real"):
        return own_cookie("bob")


FORGERIES = [
    signature_broken,
    name_swapped_under_own_signature,
    id_swapped_under_own_signature,
    signed_with_another_secret_key,
]


@pytest.fixture
def cast(db):
    services.register_user("mallory")
    services.register_user("bob")


@pytest.mark.parametrize("forge", FORGERIES)
def test_a_forged_cookie_gets_401_from_user_and_is_cleared(cast, forge):
    client = APIClient()
    client.cookies[identity.COOKIE_NAME] = forge()

    response = client.get("/v1/user")

    assert response.status_code == 401
    assert response.cookies[identity.COOKIE_NAME].value == ""
    assert response["Clear-Site-Data"] == '"cookies"'


@pytest.mark.parametrize("forge", FORGERIES)
def test_a_forged_cookie_gets_no_turn_credential(cast, forge, settings):
    settings.SIGNALING_ICE_SERVERS = ["turn:turn.example.com"]
    settings.SIGNALING_TURN_SECRET = "t" * 32
    client = APIClient()
    client.cookies[identity.COOKIE_NAME] = forge()

    response = client.get("/v1/ice-servers")

    assert response.status_code == 401
    assert "credential" not in response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("forge", FORGERIES)
async def test_a_forged_cookie_is_unauthenticated_on_connect_and_stores_nothing(signaling_sockets, forge):
    await register_user("mallory")
    await register_user("bob")
    before = await stored_state()
    socket = signaling_sockets(headers=[(b"cookie", f"{identity.COOKIE_NAME}={forge()}".encode())])

    await socket.open()

    assert await socket.receive() == {"type": "UNAUTHENTICATED", "payload": None}
    assert await socket.closed_with() == 4000
    assert await stored_state() == before


def test_the_forgeries_are_built_from_cookies_the_server_accepts(cast):
    """Guards the attacks above: unchanged, the same ingredients do sign a user in."""
    client = APIClient()
    mallory, bob = (SignalingUser.objects.get(username=name).pk for name in ("mallory", "bob"))
    client.cookies[identity.COOKIE_NAME] = own_cookie("mallory", mallory)

    assert client.get("/v1/user").json() == {"username": "mallory"}
    assert signing.get_cookie_signer(salt=identity.COOKIE_SALT).unsign(own_cookie("bob", bob)) == f"{bob}.bob"
