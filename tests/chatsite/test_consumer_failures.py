"""Whatever a consumer raises, its socket is closed with 1011 and what it held is released (chatsite/core/consumers.py).

Channels calls `disconnect()` only for a `websocket.disconnect`. A consumer that raised
(an uncaught RecursionError in a decoder did) ended without it: a nane socket stayed in
the fan-out, a token session kept its nickname, a signaling user stayed "connected" and
could not connect again. Here each dialect's decoder is made to raise on one frame,
and a consumer is cancelled as a server does at shutdown.
"""

import asyncio
import contextlib
import json

import pytest
import uvicorn
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chatsite.asgi import application
from chatsite.server.websocket_protocol import WebSocketProtocol
from messaging import protocol
from messaging.broker import get_broker
from messaging.models import ChatSession
from signaling import consumers as signaling_consumers
from signaling.models import ActiveConnection
from tests.messaging.conftest import Socket as ChatSocket
from tests.signaling.conftest import Socket as SignalingSocket
from tests.signaling.conftest import close_thread_connections, register_user
from tests.support import free_port

pytestmark = pytest.mark.django_db(transaction=True)

BOOM = "boom"


class Boom(Exception):
    """Any exception a consumer does not expect."""


def raise_on_boom(monkeypatch, module, name):
    """Make `module.name` raise on a frame saying BOOM; every other frame decodes as before."""
    decode = getattr(module, name)

    def decode_or_raise(frame, *args):
        if BOOM in frame:
            raise Boom("a decoder failed")
        return decode(frame, *args)

    monkeypatch.setattr(module, name, decode_or_raise)


async def closed_with_internal_error(socket):
    """The socket's close code, once its consumer has stopped (so whatever it released, it has)."""
    output = await socket.communicator.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 1011}
    await socket.communicator.wait(timeout=10)


async def ended_by_cancel(communicator):
    """Cancel the consumer, as a server that gives up waiting for it does, and wait until it has finished."""
    communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await communicator.wait(timeout=10)


live_nicknames = database_sync_to_async(
    lambda: sorted(ChatSession.objects.holding_nickname().values_list("nickname", flat=True))
)
connected_users = database_sync_to_async(lambda: sorted(ActiveConnection.objects.values_list("user__key", flat=True)))


# --- nane: the fan-out entry -------------------------------------------------------------


async def test_a_nane_socket_whose_decoder_raises_is_closed_with_1011_and_leaves_the_fan_out(nane, monkeypatch):
    fanout = get_broker().fanout
    witness = await nane("witness")
    before = len(fanout.nane)
    crasher = await nane("crasher")
    assert len(fanout.nane) == before + 1
    raise_on_boom(monkeypatch, protocol, "decode_nane")

    await crasher.send({"room": "r", "text": BOOM})

    await closed_with_internal_error(crasher)
    assert len(fanout.nane) == before
    # The others chat on.
    await witness.send({"room": "r", "text": "still here"})
    assert (await witness.receive())["text"] == "still here"


async def test_a_cancelled_nane_consumer_leaves_the_fan_out():
    fanout = get_broker().fanout
    before = len(fanout.nane)
    crasher = ChatSocket("/ws?username=crasher")  # not the fixture's: it would disconnect it again
    assert await crasher.connect()
    assert len(fanout.nane) == before + 1

    await ended_by_cancel(crasher.communicator)

    assert len(fanout.nane) == before


# --- token dialect: the nickname ---------------------------------------------------------


async def test_a_token_session_whose_decoder_raises_frees_its_nickname(token_client, token_for, monkeypatch):
    witness = await token_client("witness")
    crasher = await token_client("crasher")
    assert await witness.receive() == {"from": "system", "body": "crasher joined"}
    raise_on_boom(monkeypatch, protocol, "decode_command")

    await crasher.send({"type": "message", "args": {"body": BOOM}})

    await closed_with_internal_error(crasher)
    assert await witness.receive() == {"from": "system", "body": "crasher left"}
    assert await live_nicknames() == ["witness"]
    assert await token_for("crasher")


async def test_a_cancelled_token_consumer_frees_its_nickname(token_for):
    crasher = ChatSocket("/ws", subprotocols=[await token_for("crasher")])
    assert await crasher.connect()
    assert await live_nicknames() == ["crasher"]

    await ended_by_cancel(crasher.communicator)

    assert await live_nicknames() == []
    assert await token_for("crasher")


# --- signaling: the active-connection row ------------------------------------------------


@pytest.fixture
async def signaling_socket():
    made = []

    async def connect(username):
        socket = SignalingSocket(username)
        made.append(socket)
        return await socket.open()

    yield connect
    for socket in made:
        with contextlib.suppress(Exception, asyncio.CancelledError):  # ended by the test already
            await socket.close()
    await close_thread_connections()


async def assert_connects_again(signaling_socket, username):
    """A new socket for the user is let in and reachable: no ALREADY_EXISTS."""
    again = await signaling_socket(username)
    await again.assert_nothing_came_before_a_marker()


async def test_a_signaling_socket_whose_decoder_raises_releases_its_user(signaling_socket, monkeypatch):
    await register_user("crasher")
    crasher = await signaling_socket("crasher")
    assert await connected_users() == ["crasher"]
    raise_on_boom(monkeypatch, signaling_consumers, "parse_signal")

    await crasher.send({"target": "crasher", "type": BOOM})

    await closed_with_internal_error(crasher)
    assert await connected_users() == []
    await assert_connects_again(signaling_socket, "crasher")


async def test_a_signaling_socket_whose_event_handler_raises_releases_its_user(signaling_socket, monkeypatch):
    await register_user("crasher")
    crasher = await signaling_socket("crasher")

    async def fail(self, event):
        raise Boom("a handler failed")

    monkeypatch.setattr(signaling_consumers.SignalingConsumer, "signaling_forward", fail)
    await crasher.send({"target": "crasher", "type": "offer"})  # forwarded to itself, through the layer

    await closed_with_internal_error(crasher)
    assert await connected_users() == []
    monkeypatch.undo()
    await assert_connects_again(signaling_socket, "crasher")


async def test_a_cancelled_signaling_consumer_releases_its_user(signaling_socket):
    await register_user("crasher")
    crasher = await signaling_socket("crasher")

    await ended_by_cancel(crasher.communicator)

    assert await connected_users() == []
    await assert_connects_again(signaling_socket, "crasher")


# --- every consumer ----------------------------------------------------------------------


def internal_error_closes():
    return REGISTRY.get_sample_value("chatsite_websocket_closed_total", {"reason": "internal_error"})


async def test_a_failure_is_logged_and_counted(nane, monkeypatch, caplog):
    before = internal_error_closes()
    crasher = await nane("crasher")
    raise_on_boom(monkeypatch, protocol, "decode_nane")

    await crasher.send({"room": "r", "text": BOOM})

    await closed_with_internal_error(crasher)
    assert internal_error_closes() == before + 1
    assert "NaneConsumer failed; closing its socket with 1011" in caplog.text
    assert "Boom: a decoder failed" in caplog.text


@pytest.fixture
async def uvicorn_in_this_process():
    """`make run`'s server stack (uvicorn and the project's WebSocket protocol) in the test's own
    process, so a test can make a consumer fail; its `ws://` base URL."""
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, ws=WebSocketProtocol, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    await serving
    await close_thread_connections()


async def test_over_a_real_socket_the_client_gets_a_1011_close_frame_not_a_dropped_connection(
    uvicorn_in_this_process, monkeypatch
):
    fanout = get_broker().fanout
    before = len(fanout.nane)
    raise_on_boom(monkeypatch, protocol, "decode_nane")
    async with connect(f"{uvicorn_in_this_process}/ws?username=crasher") as ws:
        await ws.send(json.dumps({"room": "r", "text": BOOM}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    received = closed.value.rcvd  # None: no close frame came, the connection just dropped (1006)
    assert received is not None
    assert received.code == 1011
    assert len(fanout.nane) == before
