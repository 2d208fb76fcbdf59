"""The project's uvicorn WebSocket protocol sends its keepalive pings in step, on uvicorn's own state."""

import asyncio

import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from chatsite.server.websocket_protocol import WebSocketProtocol

# What chatsite/server/websocket_protocol.py reads or writes of uvicorn's protocol: a newer uvicorn
# that renames one fails here, not in production (and manage.py uvicorn checks the version).
UVICORN_STATE = ("queue", "close_sent", "conn", "close_timer", "close_timeout", "transport", "handshake_complete")
UVICORN_PING_STATE = ("loop", "ping_interval")
UVICORN_METHODS = ("connection_made", "handle_connect", "pause_writing", "send_keepalive_ping")


def made_by_uvicorn(loop):
    async def app(scope, receive, send):
        pass

    config = uvicorn.Config(app, ws=WebSocketProtocol, ws_ping_interval=20.0, lifespan="off", log_config=None)
    config.load()
    return WebSocketProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)


def test_the_uvicorn_state_and_methods_the_protocol_uses_exist():
    loop = asyncio.new_event_loop()
    try:
        protocol = made_by_uvicorn(loop)
        missing = [name for name in (*UVICORN_STATE, *UVICORN_PING_STATE) if not hasattr(protocol, name)]
        missing += [name for name in UVICORN_METHODS if not callable(getattr(protocol, name, None))]
        assert not missing, f"uvicorn's WebSocket protocol no longer has {missing}"
    finally:
        loop.close()


class FakeLoop:
    def __init__(self, now):
        self.now, self.timers = now, []

    def time(self):
        return self.now

    def call_at(self, when, callback):
        self.timers.append(when)
        return when


def protocol_at(now):
    return made_by_uvicorn(FakeLoop(now))


def test_pings_due_within_one_second_are_sent_on_the_same_whole_second():
    first, second = protocol_at(100.05), protocol_at(100.93)
    first.schedule_ping()
    second.schedule_ping()
    assert first.loop.timers == second.loop.timers == [121]


def test_a_ping_is_never_sent_early():
    protocol = protocol_at(100.0)
    protocol.schedule_ping()
    assert protocol.loop.timers == [120]


def test_the_next_ping_is_counted_from_when_the_last_was_due_not_from_its_pong():
    """A ping due at 121 leaves at 121.002 and its pong comes at 121.3: the next is due at 141, not 142."""
    protocol = protocol_at(101.0)
    protocol.schedule_ping()
    protocol.loop.now = 121.3  # the pong (uvicorn then asks for the next ping)
    protocol.last_ping_rtt = 121.3 - 121.002
    protocol.schedule_ping()
    assert protocol.loop.timers == [121, 141]


def test_a_pong_later_than_the_next_due_second_sends_the_next_ping_at_once():
    protocol = protocol_at(101.0)
    protocol.schedule_ping()
    protocol.loop.now = 144.5
    protocol.schedule_ping()
    assert protocol.loop.timers == [121, 145]


def test_a_pong_nobody_asked_for_does_not_move_the_next_ping():
    """A client may send pongs at will. uvicorn ignores one with no ping in flight or another
    payload (`handle_pong`); if it did not, each would push `ping_due` an interval further on."""
    protocol = protocol_at(101.0)
    protocol.schedule_ping()
    protocol.loop.now = 105.0
    protocol.handle_pong(Frame(Opcode.PONG, b"unasked"))
    protocol.pending_ping_payload = b"asked"
    protocol.handle_pong(Frame(Opcode.PONG, b"stale"))
    assert protocol.loop.timers == [121]
