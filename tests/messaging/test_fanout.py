"""Every message reaches every session, in order, encoded once, without a layer message per client."""

import pytest
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from chatsite.core.websocket_frames import encode_text_frames
from messaging.fanout import AsgiConnection, Broadcast, LocalFanout, WireConnection
from tests.messaging.conftest import assert_nothing_came_before_a_marker

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 30
MESSAGES = 250  # beyond the in-memory layer's per-channel capacity of 100


async def test_a_burst_reaches_every_session_in_order_and_nothing_is_dropped(nane, settings):
    settings.WS_RATE_BURST = MESSAGES
    clients = [await nane(f"c{n}") for n in range(CLIENTS)]
    for n in range(MESSAGES):
        await clients[0].send({"room": "burst", "text": f"m{n}"})
    for client in clients:
        assert [(await client.receive())["text"] for _ in range(MESSAGES)] == [f"m{n}" for n in range(MESSAGES)]
    await assert_nothing_came_before_a_marker(clients[0], *clients)  # no frame twice


class FakeTransport:
    """What WireConnection uses of an asyncio transport."""

    def __init__(self, closing=False):
        self.written, self.closing = [], closing

    def is_closing(self):
        return self.closing

    def write(self, data):
        self.written.append(data)


class FakeSink:
    def __init__(self, transport):
        self.transport = transport


def wire(transport):
    return WireConnection(FakeSink(transport))


class Recorder:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    async def __call__(self, message):
        if self.fail:
            raise RuntimeError("socket gone")
        self.sent.append(message)


async def drained(*connections):
    for connection in connections:
        if connection.frames.task is not None:
            await connection.frames.task


def test_every_wire_connection_gets_the_same_encoded_bytes_in_one_write():
    fanout, first, second = LocalFanout(), FakeTransport(), FakeTransport()
    for transport in (first, second):
        fanout.add_nane(wire(transport))
    fanout.deliver(Broadcast(nane=["one", "two"]))
    assert first.written == second.written == [encode_text_frames(["one", "two"])]
    assert first.written[0] is second.written[0]


def test_a_closing_socket_is_skipped_and_the_others_still_get_the_frames():
    fanout, closing, open_ = LocalFanout(), FakeTransport(closing=True), FakeTransport()
    fanout.add_nane(wire(closing))
    fanout.add_nane(wire(open_))
    fanout.deliver(Broadcast(nane=["hello"]))
    assert (closing.written, len(open_.written)) == ([], 1)


async def test_one_failing_asgi_socket_does_not_keep_the_frames_from_the_others():
    fanout = LocalFanout()
    good, bad, other = AsgiConnection(Recorder()), AsgiConnection(Recorder(fail=True)), AsgiConnection(Recorder())
    for connection in (good, bad, other):
        fanout.add_nane(connection)
    fanout.deliver(Broadcast(nane=["frame"]))
    await drained(good, bad, other)
    assert good.send.sent == other.send.sent == [{"type": "websocket.send", "text": "frame"}]


async def test_token_frames_go_only_to_the_room_and_a_move_changes_the_room():
    fanout = LocalFanout()
    here, there = AsgiConnection(Recorder()), AsgiConnection(Recorder())
    fanout.join(here, "a")
    fanout.join(there, "b")
    fanout.deliver(Broadcast(rooms={"a": ["T"]}))
    await drained(here, there)
    assert (here.send.sent, there.send.sent) == ([{"type": "websocket.send", "text": "T"}], [])
    fanout.join(there, "a")
    fanout.deliver(Broadcast(rooms={"b": ["lost"], "a": ["U"]}))
    await drained(here, there)
    assert here.send.sent[-1] == there.send.sent[-1] == {"type": "websocket.send", "text": "U"}
    assert "b" not in fanout.rooms, "an empty room is forgotten"


def test_pre_encoded_frames_are_the_bytes_uvicorns_own_send_path_writes():
    # Each length header (7-bit, 16-bit, 64-bit) at both of its ends, counted in bytes, not characters.
    texts = ["", "x" * 125, "x" * 126, "ü" * 63, "ü" * 200, "x" * 65_535, "x" * 65_536, "x" * 70_000, "short"]
    server = ServerProtocol()
    server.state = server.state.OPEN  # past the handshake, as after websocket.accept
    for text in texts:
        server.send_text(text.encode())
    assert encode_text_frames(texts) == b"".join(server.data_to_send())
    assert encode_text_frames(["a"]) == Frame(Opcode.TEXT, b"a").serialize(mask=False) == b"\x81\x01a"
    assert encode_text_frames([]) == b""


def test_a_broadcast_survives_the_channel_layer_round_trip():
    broadcast = Broadcast(nane=["n1", "n2"], rooms={"r": ["t1"]})
    assert Broadcast.from_event({"type": "chat.broadcast", **broadcast.as_event()}) == broadcast
