"""Speaking as someone else, in either dialect: the server names the sender, never the client."""

from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async

from messaging.models import Message
from tests.security.conftest import stored_state

pytestmark = pytest.mark.django_db(transaction=True)

stored_senders = database_sync_to_async(lambda: list(Message.objects.values_list("sender", flat=True)))

CLAIMS = {"sender": {"username": "bob"}, "username": "bob", "from": "bob", "user": "bob"}


async def test_a_nane_frame_claiming_another_sender_is_stored_and_sent_as_its_own(nane, token_client):
    mallory, bob, carol = await nane("mallory"), await nane("bob"), await token_client("carol")

    await mallory.send({"room": "global", "text": "I am bob", **CLAIMS})

    for reader in (mallory, bob):
        assert (await reader.receive())["sender"] == {"username": "mallory"}
    assert await carol.receive() == {"from": "mallory", "body": "I am bob"}
    assert await stored_senders() == ["mallory"]


async def test_a_token_message_claiming_another_sender_is_stored_and_sent_as_its_own(nane, token_client):
    bob, mallory = await nane("bob"), await token_client("mallory")

    await mallory.send({"type": "message", "from": "bob", "args": {"from": "bob", "body": "I am bob", **CLAIMS}})

    assert await mallory.receive() == {"from": "mallory", "body": "I am bob"}
    assert (await bob.receive())["sender"] == {"username": "mallory"}
    assert await stored_senders() == ["mallory"]


async def test_setnick_cannot_take_a_nickname_reserved_by_auth_but_not_yet_connected(token_client, token_for, sockets):
    bob_token = await token_for("bob")
    mallory = await token_client("mallory")

    await mallory.send({"type": "setnick", "args": {"nickname": "bob"}})

    assert await mallory.receive() == {"from": "system", "body": "nickname bob is already taken"}
    bob = sockets("/ws", subprotocols=[bob_token])
    assert await bob.connect()
    assert await bob.receive() == {"from": "system", "body": "bob joined"}


@pytest.mark.parametrize("username", ["bob", " bob ", "\tbob"])
async def test_a_nane_username_naming_a_connected_token_user_is_refused_however_padded(token_client, sockets, username):
    await token_client("bob")
    before = await stored_state()

    assert not await sockets(f"/ws?username={quote(username)}").connect()
    assert await stored_state() == before
