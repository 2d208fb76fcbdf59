"""Close reasons on `/v1/connect` over real sockets: the cause frame, then the cause as the close reason.

A browser sees the reason as `CloseEvent.reason`, which the original web app reads. Both
servers are tested: `make run`'s (uvicorn with chatsite/server/websocket_protocol.py) and
`manage.py runserver` (daphne, whose close reasons chatsite/server/daphne_fixes.py passes on).
"""

import asyncio
import uuid

import pytest
from websockets.asyncio.client import connect

from tests.conftest import start_server
from tests.signaling.conftest import frames_until_closed


@pytest.fixture(scope="module", params=["uvicorn", "runserver"])
def server(request, tmp_path_factory):
    server = start_server(tmp_path_factory, f"close-reasons-{request.param}", server=request.param)
    yield server
    server.stop()


def registered(server):
    """A new user's identity cookie, as the browser sends it back."""
    username = f"reason-{uuid.uuid4().hex[:8]}"
    status, _, headers = server.call("POST", "/v1/register", {"username": username})
    assert status == 200
    return headers["Set-Cookie"].split(";")[0]


async def test_no_cookie_closes_4000_with_reason_unauthenticated(server):
    async with connect(f"{server.ws_url}/v1/connect") as ws:
        assert await frames_until_closed(ws) == (
            [{"type": "UNAUTHENTICATED", "payload": None}],
            (4000, "UNAUTHENTICATED"),
        )


async def test_a_second_socket_closes_4000_with_reason_already_exists(server):
    cookie = {"Cookie": registered(server)}
    url = f"{server.ws_url}/v1/connect"
    async with connect(url, additional_headers=cookie), connect(url, additional_headers=cookie) as second:
        assert await frames_until_closed(second) == (
            [{"type": "ALREADY_EXISTS", "payload": None}],
            (4000, "ALREADY_EXISTS"),
        )


async def test_a_kicked_socket_closes_4001_with_reason_kicked(server):
    cookie = {"Cookie": registered(server)}
    async with connect(f"{server.ws_url}/v1/connect", additional_headers=cookie) as ws:
        status, body, _ = await asyncio.to_thread(server.call, "POST", "/v1/kick-active-users")
        assert (status, body) == (200, {"kicked": 1})

        assert await frames_until_closed(ws) == ([{"type": "KICKED", "payload": None}], (4001, "KICKED"))
