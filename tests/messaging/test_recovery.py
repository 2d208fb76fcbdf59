"""Recovery after a reconnect (nane `recover`): the replay, its merge with live messages, its refusals and its cost."""

import asyncio
import time
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from messaging import protocol, services
from messaging.broker import get_broker
from messaging.fanout import WireConnection
from messaging.models import Message
from tests.support import sql_statements

pytestmark = pytest.mark.django_db(transaction=True)

post_messages = database_sync_to_async(services.post_messages)


async def store(room, count, sender="bob"):
    """`count` messages in `room`, numbered 1..count (or on from the room's last)."""
    await post_messages([services.Post(room, sender, f"m{n}") for n in range(1, count + 1)])


def on_loop(loop, coroutine):
    """Run `coroutine` on the test's event loop from the database thread, and wait for it."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)


async def frames_until_pong(socket):
    """Everything the socket receives up to the pong that answers a ping sent now (ordered after it)."""
    await socket.send({"ping": True})
    frames = []
    while (frame := await socket.receive()) != {"pong": True}:
        frames.append(frame)
    return frames


async def test_recover_replays_the_messages_after_since_in_order_then_says_recovered(nane):
    await store("Tea", 5)
    alice = await nane("alice")
    await alice.send({"recover": {"room": "tea", "since": 2}, "id": "r-1"})
    frames = await frames_until_pong(alice)
    assert [(f["room"], f["seq"], f["text"]) for f in frames[:-1]] == [
        ("Tea", 3, "m3"),
        ("Tea", 4, "m4"),
        ("Tea", 5, "m5"),
    ]
    assert frames[-1] == {"recovered": True, "room": "Tea", "seq": 5, "id": "r-1"}


async def test_replayed_frames_are_the_frames_the_live_clients_got(nane):
    alice = await nane("alice")
    await alice.send({"room": "r", "text": "hello", "id": "c-1"})
    live = await alice.receive()
    await alice.send({"recover": {"room": "r", "since": 0}})
    replayed, done = await frames_until_pong(alice)
    assert replayed == live
    assert done == {"recovered": True, "room": "r", "seq": 1}


async def test_live_messages_during_the_replay_arrive_once_after_it_in_order(nane, monkeypatch):
    """One message is committed after the recovery began but before its read (so it is both
    read and delivered live), two after the read (live only): each arrives once, in order."""
    await store("r", 3)
    alice, bob = await nane("alice"), await nane("bob")
    real_replay, loop = services.replay, asyncio.get_running_loop()

    async def bob_says(text):
        await bob.send({"room": "r", "text": text})
        await bob.receive()  # his echo: the message is committed and delivered to every socket

    def replay_while_bob_posts(recover):
        on_loop(loop, bob_says("before the read"))
        answer = real_replay(recover)
        on_loop(loop, bob_says("after the read 1"))
        on_loop(loop, bob_says("after the read 2"))
        return answer

    monkeypatch.setattr(services, "replay", replay_while_bob_posts)
    await alice.send({"recover": {"room": "r", "since": 1}})
    frames = await frames_until_pong(alice)
    assert [f.get("text") or f for f in frames] == [
        "m2",
        "m3",
        "before the read",
        {"recovered": True, "room": "r", "seq": 4},
        "after the read 1",
        "after the read 2",
    ]
    assert [f["seq"] for f in frames if "text" in f] == [2, 3, 4, 5, 6]


async def test_messages_of_other_rooms_during_the_replay_are_kept_in_order(nane, monkeypatch):
    await store("r", 2)
    alice, bob = await nane("alice"), await nane("bob")
    real_replay, loop = services.replay, asyncio.get_running_loop()

    async def bob_says(room, text):
        await bob.send({"room": room, "text": text})
        await bob.receive()

    def replay_while_bob_posts(recover):
        on_loop(loop, bob_says("elsewhere", "e1"))
        answer = real_replay(recover)
        on_loop(loop, bob_says("elsewhere", "e2"))
        return answer

    monkeypatch.setattr(services, "replay", replay_while_bob_posts)
    await alice.send({"recover": {"room": "r", "since": 0}})
    frames = await frames_until_pong(alice)
    assert [f.get("text") or f["recovered"] for f in frames] == ["m1", "m2", True, "e1", "e2"]


async def test_a_late_broadcast_of_a_replayed_message_is_not_sent_again(nane, monkeypatch):
    """With several nodes, the replay can read a message another node stored before that node's
    broadcast of it arrives here: that broadcast is not sent to the recovered socket again, and
    the room's next messages reach it live as before."""
    await store("r", 1)
    alice, bob = await nane("alice"), await nane("bob")
    real_replay = services.replay
    late = []

    def replay_after_another_node_stored(recover):
        late.append(services.post_messages([services.Post("r", "carol", "stored elsewhere")])[1])
        return real_replay(recover)

    monkeypatch.setattr(services, "replay", replay_after_another_node_stored)
    await alice.send({"recover": {"room": "r", "since": 0}})
    replayed = [await alice.receive() for _ in range(3)]
    assert [f.get("text") or f for f in replayed] == [
        "m1",
        "stored elsewhere",
        {"recovered": True, "room": "r", "seq": 2},
    ]

    get_broker().publish(late[0])  # the other node's broadcast, arriving only now
    assert (await bob.receive())["text"] == "stored elsewhere"  # new to him
    for text in ("next", "and the one after"):
        await bob.send({"room": "r", "text": text})
        assert (await bob.receive())["text"] == text  # his echo: delivered to every socket
    assert [f.get("text") for f in await frames_until_pong(alice)] == ["next", "and the one after"]


async def test_a_trimmed_history_replays_what_is_left_and_says_not_recovered(nane, settings):
    settings.CHAT_MAX_MESSAGES_IN_ROOM = 3
    await store("r", 6)
    alice = await nane("alice")
    await alice.send({"recover": {"room": "r", "since": 1}})
    frames = await frames_until_pong(alice)
    assert [f.get("seq") for f in frames[:-1]] == [4, 5, 6]
    assert frames[-1] == {"recovered": False, "room": "r", "seq": 6}
    # Reaching back exactly to the oldest kept message is a full recovery.
    await alice.send({"recover": {"room": "r", "since": 3}})
    frames = await frames_until_pong(alice)
    assert frames[-1] == {"recovered": True, "room": "r", "seq": 6}


@pytest.mark.parametrize(("since", "newest"), [(5, 5), (9, 5)])
async def test_nothing_missed_is_an_empty_replay(nane, since, newest):
    await store("r", 5)
    alice = await nane("alice")
    await alice.send({"recover": {"room": "r", "since": since}})
    assert await frames_until_pong(alice) == [{"recovered": True, "room": "r", "seq": newest}]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ({"recover": {"room": "nowhere", "since": 0}, "id": "r"}, {"error": "room nowhere not found", "id": "r"}),
        ({"recover": {"room": "r", "since": -1}}, {"error": f"since must be an integer from 0 to {2**63 - 1}"}),
        (
            {"recover": {"room": "r", "since": "3"}, "id": "x"},
            {"error": f"since must be an integer from 0 to {2**63 - 1}", "id": "x"},
        ),
        ({"recover": {"room": "r", "since": 2**63}}, {"error": f"since must be an integer from 0 to {2**63 - 1}"}),
        ({"recover": {"room": "r", "since": True}}, {"error": f"since must be an integer from 0 to {2**63 - 1}"}),
        ({"recover": {"room": "r"}}, {"error": "recover.since is missing"}),
        ({"recover": {"since": 0}}, {"error": "recover.room is missing"}),
        ({"recover": {"room": " ", "since": 0}}, {"error": "room is empty"}),
        ({"recover": "r"}, {"error": 'recover must be an object: {"room": "<name>", "since": <seq>}'}),
    ],
)
async def test_a_bad_recover_gets_an_error_and_the_socket_stays_open(nane, frame, error):
    await store("r", 2)
    alice = await nane("alice")
    await alice.send(frame)
    assert await frames_until_pong(alice) == [error]
    await alice.send({"room": "r", "text": "still here"})
    assert (await alice.receive())["seq"] == 3


async def test_recover_frames_count_against_the_rate_limit(nane, settings):
    settings.WS_RATE_PER_SECOND = 0.001
    settings.WS_RATE_BURST = 1
    await store("r", 2)
    alice = await nane("alice")
    await alice.send({"recover": {"room": "r", "since": 0}})
    await alice.send({"recover": {"room": "r", "since": 0}})
    frames = [await alice.receive() for _ in range(4)]
    assert [f.get("seq") for f in frames[:2]] == [1, 2]
    assert frames[2:] == [
        {"recovered": True, "room": "r", "seq": 2},
        {"error": "too many messages: at most 0.001 per second"},
    ]


def test_recovering_a_thousand_messages_is_one_query(django_assert_num_queries, capsys):
    services.post_messages([services.Post("r", "bob", f"m{n}") for n in range(1000)])
    recover = protocol.Recover(room="r", since=0)
    with django_assert_num_queries(1):
        started = time.perf_counter()
        replay = services.replay(recover)
        frames = [*replay.frames, *replay.ending([], replay.trail())]
        elapsed = time.perf_counter() - started
    assert len(replay.frames) == 1000
    assert replay.recovered
    assert [protocol.room_and_seq(frame)[1] for frame in frames[:-1]] == list(range(1, 1001))
    with capsys.disabled():
        print(f"\nrecovering 1,000 messages ({connection.vendor}): 1 query, {elapsed * 1000:.1f} ms")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts statements with SQLite's trace callback")
def test_recovering_runs_one_statement_on_the_driver_too():
    services.post_messages([services.Post("r", "bob", f"m{n}") for n in range(1000)])
    with sql_statements() as statements:
        services.replay(protocol.Recover(room="r", since=10))
    assert len(statements) == 1, statements
    assert Message.objects.count() == 1000


class SlowTransport:
    """A transport whose peer reads 1,000 bytes each time the writer waits."""

    def __init__(self):
        self.buffered, self.largest, self.written = 0, 0, []

    def write(self, data):
        self.written.append(data)
        self.buffered += len(data)
        self.largest = max(self.largest, self.buffered)

    def get_write_buffer_size(self):
        self.buffered = max(0, self.buffered - 1000)
        return self.buffered

    def is_closing(self):
        return False


async def test_a_long_replay_is_written_as_the_socket_drains_not_at_once():
    """Written at once, 100 frames of 500 bytes would fill a 4,000-byte send buffer bound 12 times over."""
    transport = SlowTransport()
    wire = WireConnection(SimpleNamespace(transport=transport))
    await wire.write_paced(["x" * 500] * 100, step_bytes=1000)
    assert b"".join(transport.written).count(b"x" * 500) == 100
    assert transport.largest <= 2 * 1000 + 2 * 504


async def test_a_replay_is_paced_by_bytes_whatever_characters_it_holds():
    """Frames of 250 emoji buffer no more than frames of 1,000 ASCII letters: both are 1,000 bytes."""

    async def replay(text):
        transport = SlowTransport()
        await WireConnection(SimpleNamespace(transport=transport)).write_paced([text] * 100, step_bytes=1000)
        assert b"".join(transport.written).count(text.encode()) == 100
        return transport.largest, max(len(data) for data in transport.written)

    assert await replay("\N{GRINNING FACE}" * 250) == await replay("x" * 1000)
