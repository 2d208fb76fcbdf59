"""The bounded send buffer of `chatsite.server.websocket_protocol`, on a real uvicorn server in this process.

A client that reads nothing is closed once more than WS_MAX_SEND_BUFFER_BYTES wait in the
process, not before; the application is told at once, with 1008.
"""

import asyncio
import base64
import contextlib
import os
import socket

import pytest
import uvicorn

from chatsite.core.websocket_frames import FRAMES_EXTENSION, encode_text_frames
from chatsite.server.websocket_protocol import POLICY_VIOLATION, WebSocketProtocol
from tests.support import free_port

FRAME = encode_text_frames(["x" * 16_000])


class Flood:
    """An ASGI app that writes frames straight to its socket's transport, as the chat fan-out does,
    until the protocol closes the socket; then it reads what it is told."""

    def __init__(self):
        self.closed = asyncio.Event()
        self.buffered_at_close = None
        self.told = asyncio.get_running_loop().create_future()  # the message that followed the close

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        sink = scope["extensions"][FRAMES_EXTENSION]["sink"]
        buffered = 0
        while not sink.close_sent:
            sink.transport.write(FRAME)
            buffered = sink.transport.get_write_buffer_size()
            await asyncio.sleep(0)  # the protocol closes a slow client on the next loop pass
        self.buffered_at_close = buffered
        self.closed.set()
        self.told.set_result(await receive())


@contextlib.asynccontextmanager
async def serving(app):
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws=WebSocketProtocol, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def a_client_that_reads_nothing(port):
    """A WebSocket client that reads its handshake answer, then nothing more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    return writer


# One cap below and one above 64 KiB, which asyncio's and uvloop's transports use when told nothing.
@pytest.mark.parametrize("cap", [16 * 1024, 256 * 1024])
async def test_a_client_is_closed_once_more_than_the_send_buffer_setting_waits(settings, cap):
    settings.WS_MAX_SEND_BUFFER_BYTES = cap
    app = Flood()
    async with serving(app) as port:
        client = await a_client_that_reads_nothing(port)
        await app.closed.wait()
        client.transport.abort()
    assert cap < app.buffered_at_close <= cap + len(FRAME)


async def test_the_application_hears_of_a_slow_clients_close_at_once_with_1008(settings):
    settings.WS_MAX_SEND_BUFFER_BYTES = 16 * 1024
    app = Flood()
    async with serving(app) as port:
        client = await a_client_that_reads_nothing(port)
        await app.closed.wait()
        # From here the connection is lost too, which the application would hear of otherwise (1005).
        client.transport.abort()
        told = await app.told
    assert told == {"type": "websocket.disconnect", "code": POLICY_VIOLATION}
