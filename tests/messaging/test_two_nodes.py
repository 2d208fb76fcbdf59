"""Two web nodes on one database and one Redis: a message on one reaches clients of both."""

import asyncio
import json
import urllib.request
import uuid

import pytest
from websockets.asyncio.client import connect

from tests.messaging.test_recovery_real_server import until
from tests.support import ServerProcess, free_port, fresh_database_url, redis_test_url, server_env

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    redis_url = redis_test_url("redis://127.0.0.1:6379/15")
    database_url = fresh_database_url(tmp_path_factory.mktemp("nodes"), "nodes", migrated=True)
    # A group of its own, so parallel runs sharing this Redis never hear each other.
    group = f"chat.nodes.test.{uuid.uuid4().hex}"
    env = server_env(database_url, REDIS_URL=redis_url, CHAT_NODES_GROUP=group)
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


async def test_messages_stored_through_one_node_are_recovered_on_the_other(nodes):
    """Carol lost her socket to node one; on node two she recovers what Alice posted through
    node one, while Alice keeps posting: every number once, in order."""
    one, two = nodes
    room = f"recover-{uuid.uuid4().hex[:8]}"
    async with connect(f"{one.ws_url}/ws?username=rec-alice") as alice:
        for n in range(1, 31):
            await alice.send(json.dumps({"room": room, "text": f"m{n}", "id": f"m{n}"}))
        await until(alice, lambda f: f.get("id") == "m30")
        async with connect(f"{two.ws_url}/ws?username=rec-carol") as carol:
            await carol.send(json.dumps({"recover": {"room": room, "since": 10}, "id": "r"}))
            for n in range(31, 41):  # live, through Redis, while the replay runs on node two
                await alice.send(json.dumps({"room": room, "text": f"m{n}", "id": f"m{n}"}))
            frames = await until(carol, lambda f: f.get("seq") == 40)
            await carol.send(json.dumps({"ping": True}))
            frames += await until(carol, lambda f: f == {"pong": True})
    answer = next(f for f in frames if "recovered" in f)
    assert answer["recovered"] is True
    assert answer["id"] == "r"
    assert 30 <= answer["seq"] <= 40
    seqs = [f["seq"] for f in frames if "text" in f]
    # Live frames of node two before it read the recover frame, then the replay from 11 on.
    assert seqs[seqs.index(11) :] == list(range(11, 41))
    assert [f["text"] for f in frames if "text" in f][seqs.index(11) :] == [f"m{n}" for n in range(11, 41)]
    after = frames[frames.index(answer) + 1 : -1]  # up to the pong
    assert [f["seq"] for f in after] == list(range(answer["seq"] + 1, 41))
