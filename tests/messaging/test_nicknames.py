"""A token-dialect nickname is freed however the session ends (docs/protocols/chat.md)."""

import pytest
from channels.db import database_sync_to_async

from messaging import services
from messaging.models import ChatSession
from tests.messaging.conftest import assert_nothing_came_before_a_marker

pytestmark = pytest.mark.django_db(transaction=True)

live_sessions = database_sync_to_async(
    lambda: sorted(ChatSession.objects.holding_nickname().values_list("nickname", flat=True))
)


@pytest.mark.parametrize("code", [1000, 1001, 1006, 4000])
async def test_a_disconnect_of_any_code_frees_the_nickname_and_kills_the_token(sockets, token_client, code, token_for):
    alice = await token_client("alice")
    await alice.communicator.disconnect(code=code)
    assert await live_sessions() == []
    assert await token_for("alice")


async def test_exit_frees_the_nickname(token_client):
    alice = await token_client("alice")
    await alice.send({"type": "exit", "args": {}})
    await alice.closed_with()
    assert await live_sessions() == []


async def test_a_used_token_is_dead_after_disconnect(sockets, token_for):
    token = await token_for("alice")
    first = sockets("/ws", subprotocols=[token])
    assert await first.connect()
    await first.disconnect()
    assert not await sockets("/ws", subprotocols=[token]).connect()


async def test_a_nickname_taken_by_setnick_is_freed_on_disconnect_under_its_new_name(token_client, token_for):
    alice = await token_client("alice")
    await alice.send({"type": "setnick", "args": {"nickname": "alicia"}})
    await alice.receive()
    await alice.disconnect()
    assert await token_for("alicia")
    assert await token_for("alice")


async def test_the_room_hears_left_once_whatever_ended_the_session(token_client):
    alice, bob = await token_client("alice"), await token_client("bob")
    assert await alice.receive() == {"from": "system", "body": "bob joined"}
    await bob.send({"type": "exit"})
    await bob.closed_with()
    await bob.disconnect()
    assert await alice.receive() == {"from": "system", "body": "bob left"}
    await assert_nothing_came_before_a_marker(alice)  # bob's consumer has stopped: no second `left`


async def test_a_nane_user_may_take_a_freed_nickname(token_client, sockets):
    alice = await token_client("alice")
    assert not await sockets("/ws?username=alice").connect()
    await alice.disconnect()
    assert await sockets("/ws?username=alice").connect()


def test_services_refuse_a_second_reservation_only_while_the_first_holds(db, settings):
    services.issue_token("alice")
    with pytest.raises(services.ChatError):
        services.issue_token("alice")
    settings.AUTH_CONNECT_WINDOW = -1
    assert services.issue_token("alice")
