import contextlib
import json
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application
from messaging import services


class Socket:
    """A WebsocketCommunicator that speaks JSON and is always disconnected at the end."""

    def __init__(self, path, **kwargs):
        self.communicator = WebsocketCommunicator(application, path, **kwargs)
        self.subprotocol = None

    async def connect(self):
        connected, self.subprotocol = await self.communicator.connect()
        return connected

    async def send(self, value):
        await self.communicator.send_to(text_data=value if isinstance(value, str) else json.dumps(value))

    async def receive(self, timeout=3):
        return json.loads(await self.communicator.receive_from(timeout))

    async def nothing(self):
        return await self.communicator.receive_nothing(0.2)

    async def closed_with(self, timeout=3):
        message = await self.communicator.receive_output(timeout)
        assert message["type"] == "websocket.close", message
        return message.get("code")

    async def disconnect(self):
        await self.communicator.disconnect()


@pytest.fixture
async def sockets():
    """Open sockets by path; every one is disconnected when the test ends."""
    opened = []

    def open_socket(path, **kwargs):
        socket = Socket(path, **kwargs)
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        with contextlib.suppress(Exception):  # already closed by the server or the test
            await socket.disconnect()


@pytest.fixture
def nane(sockets):
    """Connect a nane-dialect client named `username`."""

    async def connect(username):
        socket = sockets(f"/ws?username={quote(username)}")
        assert await socket.connect(), f"nane handshake of {username!r} refused"
        return socket

    return connect


@pytest.fixture
def token_for():
    return database_sync_to_async(services.issue_token)


@pytest.fixture
def token_client(sockets, token_for):
    """Authenticate `nickname`, connect with its token, and consume its own `joined` notice."""

    async def connect(nickname):
        token = await token_for(nickname)
        socket = sockets("/ws", subprotocols=[token])
        assert await socket.connect(), f"token handshake of {nickname} refused"
        assert await socket.receive() == {"from": "system", "body": f"{nickname} joined"}
        return socket

    return connect
