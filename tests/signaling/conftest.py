import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.http import HttpResponse
from rest_framework.test import APIClient
from websockets.exceptions import ConnectionClosed

from chatsite.asgi import application
from chatsite.core import database
from signaling import identity, services


@pytest.fixture
def api():
    return APIClient()


def cookie_header(username):
    """The Cookie header a browser sends after registering `username` (naming nobody if it is not registered)."""

    def registration():
        try:
            return services.find_user(username) or SimpleNamespace(pk=0, username=username)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:  # callers run on an event loop, where the ORM may not
        user = pool.submit(registration).result()
    response = HttpResponse()
    identity.set_user_cookie(response, user)
    return (b"cookie", f"{identity.COOKIE_NAME}={response.cookies[identity.COOKIE_NAME].value}".encode())


class Socket:
    """A `/v1/connect` client in this process, speaking JSON frames."""

    def __init__(self, username=None, headers=()):
        self.username = username
        headers = [*headers, cookie_header(username)] if username else list(headers)
        self.communicator = WebsocketCommunicator(application, "/v1/connect", headers=headers)

    async def open(self):
        connected, _ = await self.communicator.connect()
        assert connected
        return self

    async def send(self, frame):
        await self.communicator.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def receive(self):
        return await self.communicator.receive_json_from(timeout=3)

    async def closed_with(self):
        """The close code the server ends with (after any frames already read)."""
        output = await self.communicator.receive_output(timeout=3)
        assert output["type"] == "websocket.close", output
        return output.get("code")

    async def assert_nothing_came_before_a_marker(self):
        """Send a signal to ourselves; it must be the next frame this socket gets.

        This proves that an earlier action sent this socket nothing, without waiting for
        silence, and that the socket still holds its user (else: TARGET_NOT_FOUND). The
        marker comes after any such frame because the consumer handles its socket's frames
        one at a time, so whatever it sent directly (a cause frame, an error) is out before it
        reads the marker; and the forwarded marker arrives through this socket's channel, a
        FIFO queue, behind any forward or kick already sent to it.

        The caller must first make sure the action has run its course: the HTTP request that
        kicks has been answered, the other socket was answered or its consumer has stopped.
        """
        marker = f"marker {uuid.uuid4().hex}"
        await self.send({"target": self.username, "type": "marker", "payload": marker})
        frame = await self.receive()
        expected = {"target": self.username, "type": "marker", "originator": self.username, "payload": marker}
        assert frame == expected, f"{self.username} got {frame} before the marker"

    async def close(self):
        """Disconnect and wait until the consumer has stopped (so it has handled every frame)."""
        await self.communicator.disconnect(timeout=10)


@pytest.fixture
async def sockets():
    """Open `/v1/connect` sockets for a test and always disconnect them afterwards."""
    opened = []

    async def open_socket(username=None, **kwargs):
        socket = Socket(username, **kwargs)
        opened.append(socket)
        return await socket.open()

    yield open_socket
    for socket in opened:
        await socket.close()
    await close_thread_connections()


async def close_thread_connections():
    """Close the database connections of the consumers' thread (chatsite/core/database.py) and of
    asgiref's, where this suite's own `database_sync_to_async` helpers run.

    pytest-django only closes the main thread's connection, and PostgreSQL cannot drop
    the test database while another session is open on it.
    """
    await database.run(connections.close_all)
    await database_sync_to_async(connections.close_all)()


register_user = database_sync_to_async(services.register_user)


@pytest.fixture
async def online(sockets):
    """Register a user and connect it; returns its open socket."""

    async def online(username):
        await register_user(username)
        return await sockets(username)

    return online


async def frames_until_closed(ws):
    """Every frame the server sends until it closes, then (code, reason) of its close frame."""
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    except ConnectionClosed as closed:
        return frames, (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else None
