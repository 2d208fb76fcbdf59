"""The project's uvicorn WebSocket protocol sends its keepalive pings in step."""

from chatsite.websocket_protocol import WebSocketProtocol


class FakeLoop:
    def __init__(self, now):
        self.now, self.timers = now, []

    def time(self):
        return self.now

    def call_at(self, when, callback):
        self.timers.append(when)
        return when


def protocol_at(now, rtt=0.0):
    protocol = object.__new__(WebSocketProtocol)  # only what schedule_ping reads
    protocol.loop, protocol.ping_interval, protocol.last_ping_rtt = FakeLoop(now), 20.0, rtt
    return protocol


def test_pings_due_within_one_second_are_sent_on_the_same_whole_second():
    first, second = protocol_at(100.05), protocol_at(100.93, rtt=0.02)
    first.schedule_ping()
    second.schedule_ping()
    assert first.loop.timers == second.loop.timers == [121]


def test_a_ping_is_never_sent_early():
    protocol = protocol_at(100.0)
    protocol.schedule_ping()
    assert protocol.loop.timers == [120]
