"""The two cookies of registration: `signaling_identity` (signed, HttpOnly) authenticates;
`user_username` (the plain name, for the original web app's scripts) never does."""

import pytest
from channels.db import database_sync_to_async
from django.core import signing

from signaling import identity, services
from tests.signaling.conftest import cookie_header, register_user

IDENTITY, DISPLAY = identity.COOKIE_NAME, identity.DISPLAY_COOKIE_NAME


def register(api, username):
    return api.post("/v1/register", {"username": username}, format="json")


@pytest.mark.django_db
def test_register_sets_a_signed_httponly_identity_and_a_plain_script_readable_username(api):
    response = register(api, "alice.b-c_d")

    signed, plain = response.cookies[IDENTITY], response.cookies[DISPLAY]
    assert signed["httponly"] is True
    user_id, username = identity.identity_from_cookie(signed.value)
    assert username == "alice.b-c_d"
    assert user_id == services.find_user("alice.b-c_d").pk
    assert plain.value == "alice.b-c_d"  # what the original app shows after `user_username=`
    assert not plain["httponly"]
    for cookie in (signed, plain):
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == "/"
        assert cookie["max-age"] == signed["max-age"]


@pytest.mark.django_db
def test_the_identity_cookie_comes_first_so_a_client_keeping_one_signs_in(api):
    assert list(register(api, "alice").cookies) == [IDENTITY, DISPLAY]


@pytest.mark.django_db
def test_a_non_ascii_username_is_percent_encoded_in_the_plain_cookie(api):
    assert register(api, "Ωmega").cookies[DISPLAY].value == "%CE%A9mega"


def plain_name():
    return "alice"  # what the original trusted


def shaped_like_a_signed_value():
    return "alice:1xUzLT:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def a_valid_identity_value():
    return identity.signer().sign("alice")  # under the wrong cookie name


FORGED = [plain_name, shaped_like_a_signed_value, a_valid_identity_value]


@pytest.mark.django_db
@pytest.mark.parametrize("forge", FORGED)
def test_a_user_username_cookie_alone_authenticates_nobody(api, forge):
    services.register_user("alice")
    api.cookies[DISPLAY] = forge()

    response = api.get("/v1/user")

    assert response.status_code == 401
    assert response.cookies[DISPLAY].value == ""


@pytest.mark.django_db
def test_a_user_username_naming_someone_else_does_not_change_who_you_are(api):
    services.register_user("bob")
    register(api, "alice")
    api.cookies[DISPLAY] = "bob"

    assert api.get("/v1/user").json() == {"username": "alice"}


@pytest.mark.django_db
def test_a_forged_identity_beside_a_truthful_user_username_authenticates_nobody(api):
    services.register_user("alice")
    api.cookies[IDENTITY] = signing.get_cookie_signer(salt="another salt").sign("alice")
    api.cookies[DISPLAY] = "alice"

    assert api.get("/v1/user").status_code == 401


# --- The same rule on the socket -------------------------------------------------------


def display_cookie(value):
    return (b"cookie", f"{DISPLAY}={value}".encode())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("forge", FORGED)
async def test_a_user_username_cookie_alone_is_unauthenticated_on_connect(sockets, forge):
    await register_user("alice")
    socket = await sockets(headers=[display_cookie(forge())])

    assert await socket.receive() == {"type": "UNAUTHENTICATED", "payload": None}
    assert await socket.closed_with() == 4000


@pytest.mark.django_db(transaction=True)
async def test_on_connect_the_identity_cookie_decides_whatever_user_username_says(sockets):
    await register_user("alice")
    await register_user("bob")
    bob = await sockets("bob")
    mallory_as_alice = await sockets(headers=[display_cookie("bob"), cookie_header("alice")])

    await mallory_as_alice.send({"target": "bob", "type": "offer", "payload": 1})

    assert (await bob.receive())["originator"] == "alice"
    online = await database_sync_to_async(services.online_usernames)()
    assert online == ["alice", "bob"]
