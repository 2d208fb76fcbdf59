"""`/v1/connect` handshakes: who may hold a socket, close codes and cause frames."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from signaling.models import ActiveConnection
from tests.signaling.conftest import Socket, close_thread_connections, register_user

pytestmark = pytest.mark.django_db(transaction=True)

count_connections = database_sync_to_async(ActiveConnection.objects.count)


async def connection_usernames():
    return await database_sync_to_async(
        lambda: sorted(ActiveConnection.objects.values_list("user__username", flat=True))
    )()


async def test_registered_user_connects_and_is_in_the_registry(online):
    socket = await online("alice")

    await socket.assert_nothing_came_before_a_marker()
    assert await connection_usernames() == ["alice"]


async def test_no_cookie_is_told_unauthenticated_then_closed_with_4000(sockets):
    socket = await sockets()

    assert await socket.receive() == {"type": "UNAUTHENTICATED", "payload": None}
    assert await socket.closed_with() == 4000
    assert await count_connections() == 0


async def test_a_hand_made_user_username_cookie_is_unauthenticated(sockets):
    await register_user("alice")
    socket = await sockets(headers=[(b"cookie", b"user_username=alice")])

    assert await socket.receive() == {"type": "UNAUTHENTICATED", "payload": None}
    assert await socket.closed_with() == 4000
    assert await count_connections() == 0


async def test_a_signed_cookie_of_an_unregistered_user_is_unauthenticated(sockets):
    socket = await sockets("ghost")

    assert await socket.receive() == {"type": "UNAUTHENTICATED", "payload": None}
    assert await socket.closed_with() == 4000


async def test_a_second_socket_of_a_connected_user_is_told_already_exists(online, sockets):
    first = await online("alice")

    second = await sockets("alice")

    assert await second.receive() == {"type": "ALREADY_EXISTS", "payload": None}
    assert await second.closed_with() == 4000
    await first.assert_nothing_came_before_a_marker()
    assert await connection_usernames() == ["alice"]


async def test_the_refused_second_socket_closing_leaves_the_first_registered(online, sockets):
    first = await online("alice")
    second = await sockets("alice")
    await second.receive()
    await second.close()

    assert await connection_usernames() == ["alice"]
    await first.send({"target": "alice", "type": "ping"})
    assert (await first.receive())["originator"] == "alice"


async def test_two_sockets_racing_for_one_user_leave_exactly_one_holding_it():
    """Two consumers (two processes' worth) connect at once: the unique row admits one."""
    await register_user("alice")
    racers = [Socket("alice"), Socket("alice")]
    try:
        await asyncio.gather(*(racer.open() for racer in racers))
        # Each sends alice a signal: only the winner holds alice, so only it gets one back;
        # the loser was told at once, before it read any frame.
        for racer in racers:
            await racer.send({"target": "alice", "type": "marker"})
        first_frames = [await racer.receive() for racer in racers]

        assert sorted(frame["type"] for frame in first_frames) == ["ALREADY_EXISTS", "marker"]
        loser = racers[[frame["type"] for frame in first_frames].index("ALREADY_EXISTS")]
        assert await loser.closed_with() == 4000
        assert await connection_usernames() == ["alice"]
    finally:
        for racer in racers:
            await racer.close()
        await close_thread_connections()


async def test_the_username_matches_the_cookie_in_any_case_after_registration(online, sockets):
    await online("Alice")

    second = await sockets("ALICE")

    assert await second.receive() == {"type": "ALREADY_EXISTS", "payload": None}


async def test_closing_the_socket_removes_the_user_from_the_registry(online):
    socket = await online("alice")
    await socket.close()

    assert await count_connections() == 0


async def test_a_dropped_connection_also_removes_the_user(online):
    socket = await online("alice")
    await socket.communicator.send_input({"type": "websocket.disconnect", "code": 1006})
    await socket.communicator.wait(timeout=3)

    assert await count_connections() == 0


async def test_after_closing_the_user_can_connect_again(online, sockets):
    first = await online("alice")
    await first.close()

    again = await sockets("alice")

    await again.assert_nothing_came_before_a_marker()
    assert await connection_usernames() == ["alice"]


async def test_a_browser_from_a_foreign_origin_is_refused(sockets):
    await register_user("alice")
    socket = Socket("alice", headers=[(b"origin", b"https://evil.example")])

    connected, _ = await socket.communicator.connect()

    assert not connected
    assert await count_connections() == 0
