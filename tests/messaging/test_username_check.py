"""`GET /api/username-check`: the nane handshake's rule, with the reason a 403 cannot carry."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from messaging import services

pytestmark = pytest.mark.django_db


def check(username):
    response = APIClient().get("/api/username-check", {"username": username})
    return response.status_code, response.json()


def test_a_free_name_is_answered_trimmed():
    assert check("  alice ") == (200, {"result": {"username": "alice"}})


def test_system_is_refused_as_reserved():
    assert check("system") == (403, {"error": "username system is reserved"})


def test_an_empty_or_long_name_is_refused_as_invalid():
    assert check(" ") == (403, {"error": "username is empty"})
    assert check("x" * 51) == (403, {"error": "username is longer than 50 characters"})


def test_a_nickname_held_in_the_token_dialect_is_refused_as_taken():
    services.issue_token("bob")
    assert check("bob") == (409, {"error": "username bob is held by a token-dialect chat session"})


def test_a_name_a_nane_user_holds_is_free_in_the_same_spelling_and_refused_in_another():
    services.claim_nane_name("Dana")
    assert check("Dana") == (200, {"result": {"username": "Dana"}})  # a second tab of the same person
    assert check("dana") == (409, {"error": "username dana is held in the chat as Dana"})


@pytest.mark.django_db(transaction=True)
async def test_the_handshake_refuses_what_the_check_refuses(nane, sockets):
    await database_sync_to_async(services.issue_token)("carol")
    for name in ("system", "carol", " "):
        refused = sockets(f"/ws?username={name}")
        assert not await refused.connect()
    assert (await nane("dave")).name == "dave"
