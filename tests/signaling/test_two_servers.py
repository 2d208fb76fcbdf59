"""Several server processes on one database: one live connection per user, dead servers expire.

With Redis, frames and kicks also cross from one process to the other.
"""

import asyncio
import contextlib
import json
import signal
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import second_server, start_server
from tests.signaling.conftest import frames_until_closed
from tests.support import redis_test_url, report


def register(server, username):
    """Register over HTTP; returns the Cookie header the browser would send."""
    request = urllib.request.Request(
        f"{server.url}/v1/register",
        data=json.dumps({"username": username}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Set-Cookie"].split(";")[0]


async def is_held(ws, username):
    """Whether the server kept this socket as `username`'s one connection.

    The socket sends a signal to its own user. A refused socket was told ALREADY_EXISTS
    before its consumer read anything; a kept one gets the signal back, which also proves
    that the registry still routes the user to this socket (so a takeover by another
    server cannot go unnoticed until the next heartbeat).
    """
    with contextlib.suppress(ConnectionClosed):  # a refused socket may be closed already
        await ws.send(json.dumps({"target": username, "type": "marker", "payload": None}))
    frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if frame["type"] == "ALREADY_EXISTS":
        return False
    assert frame == {"target": username, "type": "marker", "originator": username, "payload": None}, frame
    return True


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    first = start_server(tmp_path_factory, "signaling-pair")
    second = second_server(first)
    yield first, second
    second.stop()
    first.stop()


async def test_a_user_connected_to_one_server_is_refused_by_the_other(two_servers):
    first, second = two_servers
    cookie = register(first, "alice")

    async with connect(f"{first.ws_url}/v1/connect", additional_headers={"Cookie": cookie}) as holder:
        async with connect(f"{second.ws_url}/v1/connect", additional_headers={"Cookie": cookie}) as intruder:
            assert await frames_until_closed(intruder) == (
                [{"type": "ALREADY_EXISTS", "payload": None}],
                (4000, "ALREADY_EXISTS"),
            )
        assert await is_held(holder, "alice")


@pytest.mark.faults
async def test_when_a_server_dies_its_users_can_connect_to_another_soon(tmp_path_factory):
    timing = {"SIGNALING_STALE_AFTER": 1.5, "SIGNALING_HEARTBEAT_INTERVAL": 0.3}
    doomed = start_server(tmp_path_factory, "signaling-doomed", **timing)
    survivor = second_server(doomed)
    try:
        cookie = register(survivor, "bob")
        ws = await connect(f"{doomed.ws_url}/v1/connect", additional_headers={"Cookie": cookie})
        doomed.process.send_signal(signal.SIGKILL)  # no disconnect handler runs: the row stays behind
        doomed.process.wait()
        killed = asyncio.get_running_loop().time()

        async def reconnect():
            return await connect(f"{survivor.ws_url}/v1/connect", additional_headers={"Cookie": cookie})

        # Refused while the row is fresh; a generous bound on a broken expiry, not a speed claim.
        deadline = asyncio.get_running_loop().time() + 60
        while not await is_held(again := await reconnect(), "bob"):
            await again.close()
            assert asyncio.get_running_loop().time() < deadline, "the dead server's row never expired"
            await asyncio.sleep(0.2)
        freed_after = round(asyncio.get_running_loop().time() - killed, 2)
        report(
            "web process SIGKILLed: signaling user",
            stale_after_s=timing["SIGNALING_STALE_AFTER"],
            freed_after_s=freed_after,
        )
        await again.close()
        await ws.close()
    finally:
        survivor.stop()
        doomed.stop()


@pytest.fixture(scope="module")
def redis_servers(tmp_path_factory):
    first = start_server(tmp_path_factory, "signaling-redis", REDIS_URL=redis_test_url("redis://127.0.0.1:6379/0"))
    second = second_server(first)
    yield first, second
    second.stop()
    first.stop()


@pytest.mark.redis
async def test_frames_and_kicks_cross_between_server_processes_over_redis(redis_servers):
    first, second = redis_servers
    alice, bob = register(first, "alice"), register(second, "bob")

    async with (
        connect(f"{first.ws_url}/v1/connect", additional_headers={"Cookie": alice}) as alice_ws,
        connect(f"{second.ws_url}/v1/connect", additional_headers={"Cookie": bob}) as bob_ws,
    ):
        await alice_ws.send(json.dumps({"target": "bob", "type": "offer", "payload": {"sdp": "v=0"}}))
        forwarded = json.loads(await asyncio.wait_for(bob_ws.recv(), 10))
        assert forwarded == {"target": "bob", "type": "offer", "originator": "alice", "payload": {"sdp": "v=0"}}

        kick = urllib.request.Request(f"{second.url}/v1/kick-active-users", method="POST")
        with urllib.request.urlopen(kick, timeout=10) as response:
            assert json.load(response) == {"kicked": 2}

        for ws in (alice_ws, bob_ws):
            assert await frames_until_closed(ws) == ([{"type": "KICKED", "payload": None}], (4001, "KICKED"))
