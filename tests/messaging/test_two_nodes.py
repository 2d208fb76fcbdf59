"""Two web nodes on one database and one Redis: a message on one reaches clients of both."""

import asyncio
import json
import urllib.request
import uuid

import pytest
from websockets.asyncio.client import connect

from tests.support import ServerProcess, free_port, fresh_database_url, manage, redis_test_url, server_env

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    redis_url = redis_test_url("redis://127.0.0.1:6379/15")
    database_url = fresh_database_url(tmp_path_factory.mktemp("nodes"), "nodes")
    # A group of its own, so parallel runs sharing this Redis never hear each other.
    group = f"chat.nodes.test.{uuid.uuid4().hex}"
    env = server_env(database_url, REDIS_URL=redis_url, CHAT_NODES_GROUP=group)
    manage("migrate", "--noinput", env=env)
    servers = [ServerProcess(env, free_port()).start(), ServerProcess(env, free_port()).start()]
    yield servers
    for server in servers:
        server.stop()


async def receive(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def auth(server, nickname):
    request = urllib.request.Request(f"{server.url}/auth?nickname={nickname}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


async def test_a_message_sent_to_one_node_reaches_both_dialects_on_the_other(nodes):
    one, two = nodes
    token = auth(one, "node_bob")
    async with (
        connect(f"{one.ws_url}/ws?username=node-alice") as alice,
        connect(f"{two.ws_url}/ws?username=node-carol") as carol,
        connect(f"{two.ws_url}/ws", subprotocols=[token]) as bob,
    ):
        assert await receive(bob) == {"from": "system", "body": "node_bob joined"}
        await alice.send(json.dumps({"room": "global", "text": "across nodes", "id": "n1"}))
        for ws in (alice, carol):
            frame = await receive(ws)
            assert (frame["id"], frame["text"], frame["sender"]) == ("n1", "across nodes", {"username": "node-alice"})
        assert await receive(bob) == {"from": "node-alice", "body": "across nodes"}
        await bob.send(json.dumps({"type": "message", "args": {"body": "back"}}))
        assert await receive(bob) == {"from": "node_bob", "body": "back"}
        assert (await receive(alice))["text"] == "back"
    assert [m["text"] for m in one.get_json("/api/rooms/global/history")["result"]] == ["across nodes", "back"]
