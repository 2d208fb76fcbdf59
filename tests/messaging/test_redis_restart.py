"""Redis dies and comes back while two web nodes serve one chat: the chat resumes across nodes."""

import asyncio
import contextlib
import json
import time
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import RedisProcess, ServerProcess, free_port, fresh_database_url, report, server_env

pytestmark = pytest.mark.faults


class Listener:
    """A nane client that keeps every frame's id, and notes when the server closed it."""

    def __init__(self, ws):
        self.ws, self.ids, self.closed = ws, set(), False
        self.arrived = asyncio.Event()  # set at each frame
        self.task = asyncio.create_task(self.read())

    async def read(self):
        try:
            async for frame in self.ws:
                self.ids.add(json.loads(frame).get("id"))
                self.arrived.set()
        except ConnectionClosed:
            pass
        self.closed = True
        self.arrived.set()

    async def sees(self, message_id, timeout):
        """Whether the frame of `message_id` arrives within `timeout` (a bound for a message that may be lost)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while message_id not in self.ids and not self.closed:
                    self.arrived.clear()
                    await self.arrived.wait()
        return message_id in self.ids

    async def send(self, message_id):
        await self.ws.send(json.dumps({"room": "outage", "text": message_id, "id": message_id}))


@pytest.fixture
def redis_cluster(tmp_path):
    redis = RedisProcess().start()
    database_url = fresh_database_url(tmp_path, "redis_restart", migrated=True)
    env = server_env(database_url, REDIS_URL=redis.url, CHAT_NODES_GROUP=f"chat.nodes.{uuid.uuid4().hex}")
    nodes = [ServerProcess(env, free_port()).start(), ServerProcess(env, free_port()).start()]
    yield redis, nodes
    for node in nodes:
        node.stop()
    redis.stop()


def missed_only_before_the_first_it_got(probes, listener):
    got = [probe in listener.ids for probe in probes]
    return got == sorted(got)  # missed, missed, ..., got, got


async def first_crossing(sender, receiver, deadline):
    """Send probes until one reaches `receiver`; every probe sent, or None at the deadline."""
    probes = []
    while time.monotonic() < deadline:
        probes.append(f"probe-{uuid.uuid4().hex[:8]}")
        await sender.send(probes[-1])
        if await receiver.sees(probes[-1], 0.5):
            return probes
    return None


async def test_chat_resumes_across_nodes_after_redis_restarts(redis_cluster):
    redis, (one, two) = redis_cluster
    async with (
        connect(f"{one.ws_url}/ws?username=alice") as alice_ws,
        connect(f"{one.ws_url}/ws?username=dave") as dave_ws,
        connect(f"{two.ws_url}/ws?username=carol") as carol_ws,
    ):
        alice, dave, carol = Listener(alice_ws), Listener(dave_ws), Listener(carol_ws)
        await alice.send("before")
        assert await carol.sees("before", 10)

        redis.kill()
        killed = time.monotonic()
        during = [f"during-{n}" for n in range(5)]
        for message_id in during:
            await alice.send(message_id)
        local_during = [await dave.sees(message_id, 10) for message_id in during]
        local_after = round(time.monotonic() - killed, 2)
        history = await asyncio.to_thread(one.get_json, "/api/rooms/outage/history")
        stored = {message["id"] for message in history["result"]}

        restarted = time.monotonic()
        redis.start()
        deadline = restarted + 30
        one_to_two = await first_crossing(alice, carol, deadline)
        two_to_one = await first_crossing(carol, alice, deadline)
        assert one_to_two is not None, "node one's messages never reached node two again"
        assert two_to_one is not None, "node two's messages never reached node one again"
        resumed_after = round(time.monotonic() - restarted, 2)
        await alice.send("after")
        assert await dave.sees("after", 5)
        assert await carol.sees("after", 5)
        # (probe, a client of the other node, a client of the sender's node)
        routes = ((one_to_two, carol, dave), (two_to_one, alice, carol))
        probes = [(probe, other, same) for probes, other, same in routes for probe in probes]
        outcome = {
            "sent_during_outage": len(during),
            "stored": len(stored & set(during)),
            "delivered_same_node": sum(local_during),
            "same_node_all_delivered_after_s": local_after,
            "delivered_other_node": len(carol.ids & set(during)),
            "sockets_kept": not (alice.closed or dave.closed or carol.closed),
            "cross_node_again_after_s": resumed_after,
            "probes_after_restart": len(probes),
            "probes_after_restart_lost_cross_node": sum(probe not in other.ids for probe, other, _ in probes),
            "probes_after_restart_lost_same_node": sum(probe not in same.ids for probe, _, same in probes),
        }
    report("redis restarted under two nodes", **outcome)
    # What the outage may cost, and no more: a message sent while Redis is down is stored and
    # reaches the sender's node at once; it never reaches the other node, neither then nor
    # late once Redis is back (the broker does not resend, and a restarted Redis holds
    # nothing), so there it is found in the history alone.
    assert outcome["stored"] == outcome["delivered_same_node"] == len(during)
    assert outcome["delivered_other_node"] == 0
    assert outcome["sockets_kept"]
    # A message sent after the restart but before the nodes have subscribed again reaches no
    # live client, on either node (it is stored). How many that is depends on how long they
    # take, so the counts are reported; what is asserted is that the loss ends there: each
    # client missed only probes sent before the first it got, and "after" reached everyone.
    for probes, other, same in routes:
        assert missed_only_before_the_first_it_got(probes, other)
        assert missed_only_before_the_first_it_got(probes, same)


async def test_signaling_survives_a_redis_restart_with_an_error_frame_for_what_could_not_cross(redis_cluster):
    redis, (one, two) = redis_cluster
    alice, bob = (one.call("POST", "/v1/register", {"username": name})[2]["Set-Cookie"].split(";")[0] for name in "ab")
    async with (
        connect(f"{one.ws_url}/v1/connect", additional_headers={"Cookie": alice}) as alice_ws,
        connect(f"{two.ws_url}/v1/connect", additional_headers={"Cookie": bob}) as bob_ws,
    ):

        async def offer(payload, timeout):
            """Send alice → bob; who heard something (bob, or alice an error) and what, or (None, None)."""
            await alice_ws.send(json.dumps({"target": "b", "type": "offer", "payload": payload}))
            for name, ws in (("bob", bob_ws), ("alice", alice_ws)):
                with contextlib.suppress(TimeoutError):
                    return name, json.loads(await asyncio.wait_for(ws.recv(), timeout))
            return None, None

        assert (await offer(0, 5))[0] == "bob"
        redis.kill()
        await alice_ws.send(json.dumps({"target": "b", "type": "offer", "payload": 1}))
        # The sender's consumer answers once the layer gives up: a generous bound, not a speed.
        during = json.loads(await asyncio.wait_for(alice_ws.recv(), 60))
        restarted = time.monotonic()
        redis.start()
        outcomes = []
        while (after := await offer(len(outcomes) + 2, 0.5))[0] != "bob":
            assert after[0] is None or after[1]["type"] == "ERROR", after
            outcomes.append(after[0])
            assert time.monotonic() < restarted + 30, "signaling never crossed nodes again"
        crossed_after = round(time.monotonic() - restarted, 2)
        await alice_ws.send(json.dumps({"target": "b", "type": "offer", "payload": "final"}))
        late = []
        while (frame := json.loads(await asyncio.wait_for(bob_ws.recv(), 5)))["payload"] != "final":
            late.append(frame["payload"])
    assert during == {"type": "ERROR", "payload": "could not reach b just now; send again later"}
    assert 1 not in late, "the frame refused during the outage reached bob after all"
    report(
        "redis restarted under two nodes: signaling",
        frame_during_outage="ERROR frame to the sender, socket kept",
        cross_node_again_after_s=crossed_after,
        frames_after_restart_refused=outcomes.count("alice"),
        frames_after_restart_vanished=outcomes.count(None) - len(late),
        frames_after_restart_late=len(late),
    )
