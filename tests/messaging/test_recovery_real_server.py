"""Message numbers, recovery and history paging over real sockets against `make run`'s server."""

import asyncio
import json
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect

from tests.conftest import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The test clients post hundreds of frames a second, far past the default rate limit.
    server = start_server(tmp_path_factory, "recovery", WS_RATE_PER_SECOND=100000, WS_RATE_BURST=100000)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def short_server(tmp_path_factory):
    """A server whose rooms keep 5 messages."""
    server = start_server(tmp_path_factory, "short", CHAT_MAX_MESSAGES_IN_ROOM=5)
    yield server
    server.stop()


async def receive(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def until(ws, wanted):
    """The frames received up to and including the first one for which `wanted(frame)` holds."""
    frames = []
    while True:
        frames.append(await receive(ws))
        if wanted(frames[-1]):
            return frames


async def until_pong(ws):
    """Everything received before the pong answering a ping sent now (the server answers in order)."""
    await ws.send(json.dumps({"ping": True}))
    return (await until(ws, lambda frame: frame == {"pong": True}))[:-1]


async def post_all(ws, room, texts):
    """Post `texts` back to back and wait for the echo of the last; returns the echoes of this room."""
    for n, text in enumerate(texts):
        await ws.send(json.dumps({"room": room, "text": text, "id": f"{room}-{n}"}))
    last = f"{room}-{len(texts) - 1}"
    return [f for f in await until(ws, lambda f: f.get("id") == last) if f.get("room") == room]


async def test_every_message_frame_and_history_entry_carries_its_number(server):
    async with connect(f"{server.ws_url}/ws?username=numbered") as alice:
        echoes = await post_all(alice, "Numbered", ["a", "b", "c"])
    assert [f["seq"] for f in echoes] == [1, 2, 3]
    body = server.call("GET", "/api/rooms/numbered/history")[1]
    assert [(m["seq"], m["text"]) for m in body["result"]] == [(1, "a"), (2, "b"), (3, "c")]
    assert server.call("GET", "/api/rooms/numbered")[1]["result"]["last_message"]["seq"] == 3


async def test_a_replay_with_messages_posted_meanwhile_gives_each_once_in_order(server):
    """Bob keeps posting while Carol recovers 1,000 messages: from the replay's first frame on,
    she gets every number once, in order, and the live ones after the replay."""
    room, since = "busy", 0
    async with connect(f"{server.ws_url}/ws?username=busy-alice") as alice:
        await post_all(alice, room, [f"old {n}" for n in range(1000)])
    stop = asyncio.Event()
    posted = []

    async def bob_keeps_posting(bob):
        n = 0
        while not stop.is_set() or n < 20:
            await bob.send(json.dumps({"room": room, "text": f"live {n}", "id": f"live-{n}"}))
            echo = await until(bob, lambda f, n=n: f.get("id") == f"live-{n}")
            posted.append(echo[-1]["seq"])
            n += 1

    async with (
        connect(f"{server.ws_url}/ws?username=busy-bob") as bob,
        connect(f"{server.ws_url}/ws?username=busy-carol", max_queue=None) as carol,
    ):
        poster = asyncio.create_task(bob_keeps_posting(bob))
        frames = await until(carol, lambda f: f.get("room") == room)  # Bob is posting
        await carol.send(json.dumps({"recover": {"room": room, "since": since}, "id": "rc"}))
        frames += await until(carol, lambda f: "recovered" in f)
        stop.set()
        await poster
        frames += await until(carol, lambda f: f.get("seq") == posted[-1])
        frames += await until_pong(carol)
    answer = next(f for f in frames if "recovered" in f)
    assert answer == {"recovered": True, "room": room, "seq": answer["seq"], "id": "rc"}
    seqs = [f["seq"] for f in frames if f.get("room") == room and "text" in f]
    first_replayed = seqs.index(since + 1)
    before, after = seqs[:first_replayed], seqs[first_replayed:]
    assert after == list(range(since + 1, posted[-1] + 1))  # no loss, no duplicate, in order
    # What came before the replay came live before the recover frame was read: a run the replay repeats.
    assert before == list(range(before[0], before[-1] + 1))
    assert before[-1] <= answer["seq"]
    assert answer["seq"] < posted[-1]  # live messages followed the replay


async def test_recovered_is_false_once_the_history_was_trimmed_past_since(short_server):
    async with connect(f"{short_server.ws_url}/ws?username=short-alice") as alice:
        await post_all(alice, "short", [f"m{n}" for n in range(1, 9)])  # 8 posted, 4..8 kept
        await alice.send(json.dumps({"recover": {"room": "short", "since": 2}}))
        frames = await until_pong(alice)
        assert [f.get("seq") for f in frames[:-1]] == [4, 5, 6, 7, 8]
        assert frames[-1] == {"recovered": False, "room": "short", "seq": 8}
        await alice.send(json.dumps({"recover": {"room": "short", "since": 3}}))
        assert (await until_pong(alice))[-1] == {"recovered": True, "room": "short", "seq": 8}


async def test_bad_recover_frames_get_errors_and_the_socket_stays_open(server):
    async with connect(f"{server.ws_url}/ws?username=bad-recover") as alice:
        await alice.send(json.dumps({"recover": {"room": "no such room", "since": 0}, "id": "q"}))
        await alice.send(json.dumps({"recover": {"room": "numbered", "since": -5}}))
        assert await until_pong(alice) == [
            {"error": "room no such room not found", "id": "q"},
            {"error": "since must be an integer from 0 to 9223372036854775807"},
        ]


@pytest.fixture(scope="module")
def paged_room(server):
    async def fill():
        async with connect(f"{server.ws_url}/ws?username=pager") as alice:
            await post_all(alice, "Paged room", [f"p{n}" for n in range(1, 11)])

    asyncio.run(fill())
    return "/api/rooms/" + quote("paged room") + "/history"


def seqs(body):
    return [m["seq"] for m in body["result"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", list(range(1, 11))),
        ("?limit=3", [8, 9, 10]),
        ("?before=8&limit=3", [5, 6, 7]),
        ("?before=4&limit=3", [1, 2, 3]),
        ("?before=3&limit=3", [1, 2]),
        ("?before=2", [1]),
        ("?before=1", []),
        ("?before=11&limit=1", [10]),
        ("?before=9223372036854775807&limit=1024", list(range(1, 11))),
        ("?limit=1024", list(range(1, 11))),
    ],
)
def test_history_pages_backwards_oldest_first_within_a_page(server, paged_room, query, expected):
    status, body = server.call("GET", paged_room + query)[:2]
    assert status == 200
    assert seqs(body) == expected
    assert [m["text"] for m in body["result"]] == [f"p{seq}" for seq in expected]


def test_paging_backwards_from_the_newest_visits_every_message_once(server, paged_room):
    pages, before = [], ""
    while True:
        body = server.call("GET", f"{paged_room}?limit=4{before}")[1]
        if not body["result"]:
            break
        pages.append(seqs(body))
        before = f"&before={body['result'][0]['seq']}"
    assert pages == [[7, 8, 9, 10], [3, 4, 5, 6], [1, 2]]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?limit=0", "limit must be an integer from 1 to 1024"),
        ("?limit=1025", "limit must be an integer from 1 to 1024"),
        ("?limit=abc", "limit must be an integer from 1 to 1024"),
        ("?limit=", "limit must be an integer from 1 to 1024"),
        ("?limit=-1", "limit must be an integer from 1 to 1024"),
        ("?before=0", "before must be an integer from 1 to 9223372036854775807"),
        ("?before=1.5&limit=2", "before must be an integer from 1 to 9223372036854775807"),
        ("?before=99999999999999999999", "before must be an integer from 1 to 9223372036854775807"),
    ],
)
def test_a_bad_page_is_a_json_400_naming_the_value(server, paged_room, query, error):
    assert server.call("GET", paged_room + query)[:2] == (400, {"error": error})


def test_paging_an_unknown_room_is_still_a_404(server):
    assert server.call("GET", "/api/rooms/nothing-here/history?limit=5")[:2] == (
        404,
        {"error": "room nothing-here not found"},
    )
