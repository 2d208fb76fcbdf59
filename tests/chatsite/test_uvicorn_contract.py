"""What the server package relies on of uvicorn's internals, against a real `manage.py uvicorn` and real sockets.

Each test names the internal it pins; an upgrade of uvicorn that moves one fails here
(chatsite/server/versions.py refuses any other version until these are run). The slow
client's close is pinned by tests/messaging/test_slow_client.py (real process) and
tests/chatsite/test_send_buffer.py (its bounds).
"""

import inspect
import math
import re
import select
import socket
import time
import urllib.request
from email.utils import parsedate_to_datetime

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

import chatsite.server
from chatsite.server import versions
from tests.support import ServerProcess, free_port, server_env
from tests.uvicorn_probe import AFTER_TEXT, SINK_TEXTS

PING_INTERVAL = 1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("uvicorn_contract") / "unused.sqlite3"
    env = server_env(
        f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="tests.uvicorn_probe",
        WS_PING_INTERVAL=PING_INTERVAL,
        NODE_ANNOUNCE=0,
    )
    server = ServerProcess(env, free_port()).start()
    yield server
    server.stop()


def test_another_uvicorn_stops_start_up_naming_every_subclass(monkeypatch):
    monkeypatch.setattr(versions.uvicorn, "__version__", "0.99.0")
    with pytest.raises(versions.ImproperlyConfigured) as refused:
        versions.check_uvicorn_version()
    message = str(refused.value)
    assert "uvicorn 0.99.0 is installed. Install uvicorn==0.54.0" in message
    for subclass in uvicorn_subclasses():
        assert re.search(rf"{subclass.__module__.replace('.', '/')}\.py {subclass.__name__}\b", message), subclass


def test_the_server_methods_the_loop_overrides_keep_their_signatures():
    """Pins `uvicorn.Server.main_loop`, `on_tick` and `handle_exit`, which `OncePerSecondServer` overrides or calls."""
    expected = {"main_loop": ["self"], "on_tick": ["self", "counter"], "handle_exit": ["self", "sig", "frame"]}
    found = {name: list(inspect.signature(getattr(uvicorn.Server, name)).parameters) for name in expected}
    assert found == expected


def uvicorn_subclasses():
    """Every class of the server package that derives from one of uvicorn's."""
    import pkgutil
    from importlib import import_module

    found = set()
    for module_info in pkgutil.iter_modules(chatsite.server.__path__):
        module = import_module(f"chatsite.server.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            from_uvicorn = any(base.__module__.startswith("uvicorn.") for base in cls.__mro__)
            if cls.__module__ == module.__name__ and from_uvicorn:
                found.add(cls)
    assert found, "no uvicorn subclass found: the search is broken"
    return found


async def test_frames_written_to_the_sink_arrive_as_valid_frames(server):
    """Pins `WebSocketsSansIOProtocol.handle_connect` (the scope is the application's before it runs)
    and `.transport` (the sink's bytes go out between uvicorn's own frames)."""
    async with connect(f"{server.ws_url}/frames", open_timeout=10) as ws:
        received = [message async for message in ws]  # until the application's close
    assert received == [*SINK_TEXTS, AFTER_TEXT]


class PingCounter:
    """A raw WebSocket client that answers pings, and notes when each arrived (this machine's monotonic clock)."""

    def __init__(self, port, path="/idle"):
        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{path}"))
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.pings = []
        self.protocol.send_request(self.protocol.connect())
        self.flush()
        while self.protocol.state is State.CONNECTING:
            self.read()
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc

    def flush(self):
        for data in self.protocol.data_to_send():
            self.sock.sendall(data)

    def read(self):
        data = self.sock.recv(65536)
        assert data, "the server closed the connection"
        self.protocol.receive_data(data)
        arrived = time.monotonic()
        for event in self.protocol.events_received():
            if getattr(event, "opcode", None) is Opcode.PING:
                self.pings.append(arrived)
        self.flush()  # the pong

    def close(self):
        self.sock.close()


def open_two_in_one_second(port):
    """Two sockets opened a few tenths of a second apart, within one whole second; with when the first began."""
    for _ in range(5):
        time.sleep(1.05 - time.monotonic() % 1)  # just past a whole second
        began = time.monotonic()
        first = PingCounter(port)
        time.sleep(0.3)
        second = PingCounter(port)
        if math.floor(time.monotonic()) == math.floor(began):
            return began, first, second
        first.close()
        second.close()
    raise AssertionError("could not open two sockets within one second")


def test_pings_due_in_the_same_second_go_out_together_on_the_whole_second(server):
    """Pins `WebSocketsSansIOProtocol.schedule_ping` (overridden: `ping_interval`, `ping_timer`, `loop`) and the
    pong that schedules the next ping (`handle_pong`), over `manage.py uvicorn`'s loop."""
    began, first, second = open_two_in_one_second(server.port)
    try:
        while len(first.pings) < 2 or len(second.pings) < 2:
            readable, _, _ = select.select([first.sock, second.sock], [], [], 10)
            assert readable, "no ping came"
            for client in (first, second):
                if client.sock in readable:
                    client.read()
    finally:
        first.close()
        second.close()
    # Never before the interval, then on the whole second: the second socket's ping waits
    # for the first's, and each later ping of both goes out in one wake-up too.
    assert first.pings[0] >= math.ceil(began + PING_INTERVAL)
    assert [math.floor(at) for at in first.pings[:2]] == [math.floor(at) for at in second.pings[:2]]


def response_date(server):
    with urllib.request.urlopen(server.url + "/", timeout=10) as response:
        return parsedate_to_datetime(response.headers["Date"]).timestamp()


def test_the_date_header_moves_on_with_the_once_a_second_tick(server):
    """Pins `Server.on_tick` (the tick refreshes `server_state.default_headers`) as `OncePerSecondServer.main_loop`
    calls it."""
    first = response_date(server)
    time.sleep(2.5)
    assert response_date(server) > first
