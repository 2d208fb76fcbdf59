import contextlib
import json
import uuid
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
        self.dialect = self.name = None  # set by the `nane` and `token_client` fixtures

    async def connect(self):
        connected, self.subprotocol = await self.communicator.connect()
        return connected

    async def send(self, value):
        await self.communicator.send_to(text_data=value if isinstance(value, str) else json.dumps(value))

    async def receive(self, timeout=3):
        return json.loads(await self.communicator.receive_from(timeout))

    async def stops_without_another_frame(self):
        """Disconnect, wait until the consumer has stopped, and say whether it sent nothing more.

        The consumer reads its input in order, so once it has stopped it has handled every
        frame sent before the disconnect; what it sent meanwhile is in the output queue by then.
        """
        await self.communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.communicator.wait(timeout=10)
        return self.communicator.output_queue.empty()

    async def closed_with(self, timeout=3):
        message = await self.communicator.receive_output(timeout)
        assert message["type"] == "websocket.close", message
        return message.get("code")

    async def disconnect(self):
        # Patient: a test that goes on after this relies on the consumer having finished.
        await self.communicator.disconnect(timeout=10)


async def assert_nothing_came_before_a_marker(sender, *receivers):
    """Have `sender` post a marker message; the next frame of each receiver (the sender
    itself by default) must be that marker.

    This proves that an earlier action caused no frame, without waiting for silence. A
    marker is ordered after the unwanted frame because every step keeps order: a consumer
    handles its socket's frames one at a time; the writer stores and publishes batches in
    the order they were posted; publishing a broadcast pushes its frames, in one
    synchronous loop, into each receiving socket's one ordered queue (`fanout.InOrder`);
    and a frame a consumer sends directly (a pong, an error) is in the output before it
    reads its next frame, let alone before the marker's broadcast is queued.

    The caller must first make sure the action has run its course: its consumer has
    answered it (own echo, error, notice) or has stopped (`disconnect()` waits for that).
    """
    text = f"marker {uuid.uuid4().hex}"
    if sender.dialect == "nane":
        await sender.send({"room": "global", "text": text})
    else:
        await sender.send({"type": "message", "args": {"body": text}})
    for receiver in receivers or (sender,):
        frame = await receiver.receive()
        if receiver.dialect == "nane":
            frame = {"text": frame.get("text"), "sender": frame.get("sender")}
            expected = {"text": text, "sender": {"username": sender.name}}
        else:
            expected = {"from": sender.name, "body": text}
        assert frame == expected, f"{receiver.name} got {frame} before the marker"


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
        socket.dialect, socket.name = "nane", username.strip()
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
        socket.dialect, socket.name = "token", nickname
        return socket

    return connect
