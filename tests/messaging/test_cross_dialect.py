"""One room model under both dialects (docs/protocols/chat.md)."""

import pytest
from channels.db import database_sync_to_async

from messaging import services
from messaging.models import Message
from tests.messaging.conftest import assert_nothing_came_before_a_marker

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_nane_message_reaches_token_clients_in_that_room_only(nane, token_client):
    alice = await nane("alice")
    bob = await token_client("bob")
    await alice.send({"room": "Global", "text": "from nane"})
    assert (await alice.receive())["text"] == "from nane"
    assert await bob.receive() == {"from": "alice", "body": "from nane"}
    await alice.send({"room": "other", "text": "not for bob"})
    assert (await alice.receive())["text"] == "not for bob"
    await assert_nothing_came_before_a_marker(bob)


async def test_a_token_message_reaches_nane_clients_and_the_history(nane, token_client):
    alice = await nane("alice")
    bob = await token_client("bob")
    await bob.send({"type": "message", "args": {"body": "from token"}})
    assert await bob.receive() == {"from": "bob", "body": "from token"}
    frame = await alice.receive()
    frame.pop("created")
    assert frame == {"room": "global", "text": "from token", "sender": {"username": "bob"}, "seq": 1}
    history = await database_sync_to_async(lambda: services.history(services.find_room("GLOBAL")))()
    assert [(m["sender"]["username"], m["text"]) for m in history] == [("bob", "from token")]
    assert await database_sync_to_async(Message.objects.count)() == 1


async def test_system_notices_do_not_reach_nane_clients(nane, token_client):
    alice = await nane("alice")
    await token_client("bob")  # bob has heard his own `joined`: it was published
    await assert_nothing_came_before_a_marker(alice)
