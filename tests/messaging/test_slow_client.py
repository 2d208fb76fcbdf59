"""A client that stops reading is closed with 1008 after a cause frame; everyone else keeps receiving.

Against a real `manage.py uvicorn`, this pins what the slow-client close relies on of
uvicorn's WebSocket protocol (chatsite/server/websocket_protocol.py): `pause_writing`
called past the transport's high-water mark, then `conn.send_close`, `close_sent`,
`queue` and `close_timer`.
"""

import asyncio
import base64
import json
import os
import socket
import struct
import time

import pytest
from websockets.asyncio.client import connect

from tests.conftest import start_server
from tests.support import figure, scrape

MESSAGES = 400
TEXT = "ü" * 9_990  # 20 kB a frame: 8 MB in all, more than the kernel buffers of one socket


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(
        tmp_path_factory,
        "slow_client",
        WS_MAX_SEND_BUFFER_BYTES=64 * 1024,
        CHAT_MAX_MESSAGE_LENGTH=10_000,
        WS_RATE_PER_SECOND=10_000,
        WS_RATE_BURST=10_000,
    )
    yield server
    server.stop()


def open_and_stop_reading(server, username):
    """A nane socket with a small receive buffer that reads its handshake answer and nothing more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws?username={username} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed before a whole frame")
        data += chunk
    return data


def read_frame(sock):
    """(opcode, payload) of the next server frame (servers do not mask)."""
    first, second = read_exactly(sock, 2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read_exactly(sock, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exactly(sock, 8))
    return first & 0x0F, read_exactly(sock, length)


async def until_logged(server, text, timeout=60):
    deadline = time.monotonic() + timeout
    while text not in server.read_log():
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{server.read_log()}"
        await asyncio.sleep(0.1)


async def test_a_client_that_stops_reading_is_closed_and_the_others_keep_receiving(server):
    slow = await asyncio.to_thread(open_and_stop_reading, server, "sleepy")
    async with connect(f"{server.ws_url}/ws?username=busy", max_size=None) as busy:

        async def read_all():
            return [json.loads(await busy.recv())["text"] for _ in range(MESSAGES)]

        reading = asyncio.create_task(read_all())
        for n in range(MESSAGES):
            await busy.send(json.dumps({"room": "flood", "text": f"{n} {TEXT}"}))
        received = await asyncio.wait_for(reading, 120)
    assert [text.split()[0] for text in received] == [str(n) for n in range(MESSAGES)]

    await until_logged(server, "Closed a slow WebSocket client")
    # Read what the server had buffered for the slow client: broadcasts, the cause, the close.
    frames = []
    slow.settimeout(10)
    while (frame := await asyncio.to_thread(read_frame, slow))[0] != 0x8:
        frames.append(frame)
    slow.close()
    _, payload = frame
    assert (struct.unpack("!H", payload[:2])[0], payload[2:].decode()) == (1008, "slow client: send buffer full")
    assert json.loads(frames[-1][1]) == {"error": "closed: you did not read your messages fast enough"}
    assert 0 < len(frames) - 1 < MESSAGES, "closed part-way, not after everything"
    figures = scrape(f"{server.url}/metrics")
    assert figure(figures, "chatsite_websocket_closed_total", reason="slow_client") == 1
