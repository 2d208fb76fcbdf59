"""Cross-site WebSocket hijacking: a page on another site opens our sockets with the visitor's credentials.

Every WebSocket path refuses a browser handshake whose Origin is not ours (docs/protocols/websockets.md) before
anything runs, so the refused socket stores nothing and leaves its credentials unused.
"""

import uuid
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chatsite.asgi import application
from signaling import services
from tests.security.conftest import stored_state
from tests.signaling.conftest import cookie_header

EVIL = "https://evil.example"


def unique(name):
    # The live server's database is shared by the whole session.
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def refused(url, origin, **kwargs):
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(url, origin=origin, **kwargs):
            pass
    return refusal.value.response.status_code


# --- Real sockets against daphne, one path per dialect --------------------------------


async def test_a_foreign_page_cannot_open_a_nane_socket_but_our_own_page_can(live_server_process):
    server, name, room = live_server_process, unique("origin-nane"), unique("origin room")
    url = f"{server.ws_url}/ws?username={name}"

    assert await refused(url, EVIL) == 403

    async with connect(url, origin=f"http://127.0.0.1:{server.port}") as ws:
        await ws.send(f'{{"room": "{room}", "text": "from our own page"}}')
        assert '"from our own page"' in await ws.recv()
    rooms = [r["name"] for r in server.get_json("/api/rooms")["result"]]
    assert room in rooms


async def test_a_foreign_page_cannot_spend_a_chat_token_which_stays_good_for_our_page(live_server_process):
    server, nickname = live_server_process, unique("origin_tok")
    status, body, _ = server.call("POST", f"/auth?nickname={nickname}")
    assert status == 201
    token = body["token"]

    assert await refused(f"{server.ws_url}/ws", EVIL, subprotocols=[token]) == 403
    assert await refused(f"{server.ws_url}/ws?token={token}", EVIL) == 403

    # The refused handshakes never claimed the session: the token still opens it, once.
    async with connect(f"{server.ws_url}/ws", origin=f"http://localhost:{server.port}", subprotocols=[token]) as ws:
        assert await ws.recv() == f'{{"from":"system","body":"{nickname} joined"}}'


async def test_a_foreign_page_cannot_use_the_signaling_cookie_of_its_visitor(live_server_process):
    server, username = live_server_process, unique("origin-sig")
    status, _, headers = server.call("POST", "/v1/register", {"username": username})
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    url = f"{server.ws_url}/v1/connect"

    assert await refused(url, EVIL, additional_headers={"Cookie": cookie}) == 403
    assert username not in server.get_json("/v1/active-users")["users"]

    async with connect(url, origin=f"http://127.0.0.1:{server.port}", additional_headers={"Cookie": cookie}):
        assert username in server.get_json("/v1/active-users")["users"]


# --- Origins that only look like ours, on every path, through the ASGI app ------------

LOOKALIKES = [
    EVIL,
    "null",  # a sandboxed iframe or a file:// page
    "http://127.0.0.1.evil.example",
    "http://localhost.evil.example:8000",
    "http://127.0.0.1@evil.example",
]


@pytest.fixture
def handshake(token_for):
    """The path and headers of a valid handshake of each dialect, before its Origin is set."""

    async def make(dialect):
        if dialect == "nane":
            return f"/ws?username={quote(unique('nane'))}", []
        if dialect == "token":
            return "/ws", [(b"authorization", f"Bearer {await token_for(unique('tok'))}".encode())]
        await database_sync_to_async(services.register_user)("alice")
        return "/v1/connect", [cookie_header("alice")]

    return make


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", LOOKALIKES)
@pytest.mark.parametrize("dialect", ["nane", "token", "signaling"])
async def test_a_lookalike_origin_is_refused_on_every_path_and_stores_nothing(handshake, dialect, origin):
    path, headers = await handshake(dialect)
    before = await stored_state()
    communicator = WebsocketCommunicator(application, path, headers=[*headers, (b"origin", origin.encode())])

    connected, _ = await communicator.connect()

    assert not connected
    assert await stored_state() == before
    await communicator.disconnect()
