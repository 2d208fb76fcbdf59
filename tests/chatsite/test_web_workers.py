"""`WEB_WORKERS=2`: two worker processes on one port, one chat, one signaling registry, one set of metrics.

Each worker admits one socket per client address (WS_MAX_CONNECTIONS_PER_ADDRESS=1), so a
second socket the server accepts is necessarily on the other worker: the tests retry a
refused handshake until the kernel hands a connection to the worker that has room.
"""

import asyncio
import json
import subprocess
import time
import urllib.request
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.signaling.conftest import frames_until_closed
from tests.signaling.test_two_servers import register
from tests.support import (
    ROOT,
    ServerProcess,
    figure,
    free_port,
    fresh_database_url,
    manage_command,
    redis_test_url,
    scrape,
    server_env,
)


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    redis_url = redis_test_url("redis://127.0.0.1:6379/15")
    port = free_port()
    env = server_env(
        fresh_database_url(tmp_path_factory.mktemp("workers"), "workers", migrated=True),
        WEB_WORKERS=2,
        REDIS_URL=redis_url,
        # A group of its own, so parallel runs sharing this Redis never hear each other.
        CHAT_NODES_GROUP=f"chat.nodes.test.{uuid.uuid4().hex}",
        WS_MAX_CONNECTIONS_PER_ADDRESS=1,
        NODE_NAME="web-w",
        NODE_ADDRESS=f"127.0.0.1:{port}",
    )
    server = ServerProcess(env, port).start()
    yield server
    server.stop()


async def accepted(open_socket, attempts=200):
    """The first socket the server accepts; a 403 means the worker reached holds its one socket already."""
    for _ in range(attempts):
        try:
            return await open_socket()
        except InvalidStatus as refused:
            if refused.response.status_code != 403:
                raise
            await asyncio.sleep(0.02)
    raise AssertionError(f"no worker accepted a socket in {attempts} attempts")


async def until_no_sockets(server):
    deadline = time.monotonic() + 10
    while figure(scrape(f"{server.url}/metrics"), "chatsite_websocket_connections", path="/ws") or figure(
        scrape(f"{server.url}/metrics"), "chatsite_websocket_connections", path="/v1/connect"
    ):
        assert time.monotonic() < deadline, "sockets still counted open"
        await asyncio.sleep(0.05)


def test_more_than_one_worker_without_redis_stops_start_up_saying_why(tmp_path):
    env = server_env(fresh_database_url(tmp_path, "no-redis"), WEB_WORKERS=2)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        manage_command("uvicorn", f"127.0.0.1:{free_port()}"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "WEB_WORKERS=2 needs REDIS_URL" in result.stderr
    assert "Set REDIS_URL" in result.stderr


@pytest.mark.redis
async def test_a_chat_message_reaches_a_socket_on_the_other_worker(workers):
    alice = await accepted(lambda: connect(f"{workers.ws_url}/ws?username=w-alice"))
    carol = await accepted(lambda: connect(f"{workers.ws_url}/ws?username=w-carol"))
    async with alice, carol:
        await alice.send(json.dumps({"room": "global", "text": "across workers", "id": "w1"}))
        for ws in (alice, carol):
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["text"] == "across workers"
    await until_no_sockets(workers)


@pytest.mark.redis
async def test_a_user_connected_on_one_worker_is_refused_on_the_other(workers):
    cookie = {"Cookie": register(workers, "wdana")}
    holder = await accepted(lambda: connect(f"{workers.ws_url}/v1/connect", additional_headers=cookie))
    intruder = await accepted(lambda: connect(f"{workers.ws_url}/v1/connect", additional_headers=cookie))
    async with holder, intruder:
        assert await frames_until_closed(intruder) == (
            [{"type": "ALREADY_EXISTS", "payload": None}],
            (4000, "ALREADY_EXISTS"),
        )
    await until_no_sockets(workers)


@pytest.mark.redis
async def test_signals_and_kicks_reach_the_other_worker(workers):
    ann_cookie, ben_cookie = {"Cookie": register(workers, "wann")}, {"Cookie": register(workers, "wben")}
    ann = await accepted(lambda: connect(f"{workers.ws_url}/v1/connect", additional_headers=ann_cookie))
    ben = await accepted(lambda: connect(f"{workers.ws_url}/v1/connect", additional_headers=ben_cookie))
    async with ann, ben:
        await ann.send(json.dumps({"target": "wben", "type": "offer", "payload": {"sdp": "v=0"}}))
        assert json.loads(await asyncio.wait_for(ben.recv(), 5))["originator"] == "wann"
        kick = urllib.request.Request(f"{workers.url}/v1/kick-active-users", method="POST")
        with urllib.request.urlopen(kick, timeout=10) as response:
            assert json.load(response) == {"kicked": 2}
        for ws in (ann, ben):
            assert await frames_until_closed(ws) == ([{"type": "KICKED", "payload": None}], (4001, "KICKED"))
    await until_no_sockets(workers)


@pytest.mark.redis
def test_metrics_add_up_every_worker(workers):
    # After the tests above: one message, delivered by each worker to its own socket. Read
    # from one worker, a figure of its own would be 1.
    figures = scrape(f"{workers.url}/metrics")
    assert figure(figures, "chatsite_chat_messages_total") == 1
    assert figure(figures, "chatsite_chat_deliveries_total") == 2
    assert figure(figures, "chatsite_signaling_frames_forwarded_total") == 1
    assert figure(figures, "chatsite_websocket_closed_total", reason="kicked") == 2


@pytest.mark.redis
def test_the_node_is_announced_once_and_stops_with_status_0(workers):
    deadline = time.monotonic() + 10
    while not (nodes := workers.get_json("/nodes")):
        assert time.monotonic() < deadline, "the node was never announced"
        time.sleep(0.1)
    assert [entry["name"] for entry in nodes.values()] == ["web-w"]
    assert workers.stop() == 0
