"""Both dialects over real sockets against `make run`'s server (and runserver), with `websockets` as the client."""

import asyncio
import json
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import start_server


def auth(server, nickname):
    request = urllib.request.Request(f"{server.url}/auth?nickname={quote(nickname)}", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


async def receive(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def until_auth_succeeds(server, nickname):
    """Poll `/auth` until the server has noticed the disconnect (bounded, not timed)."""
    for _ in range(100):
        status, body = await asyncio.to_thread(auth, server, nickname)
        if status == 201:
            return body["token"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{nickname} is still taken: {body}")


async def test_nane_clients_talk_over_real_sockets(live_server_process):
    base = live_server_process.ws_url
    async with connect(f"{base}/ws?username=e2e-alice") as alice, connect(f"{base}/ws?username=e2e-bob") as bob:
        await alice.send(json.dumps({"ping": True}))
        assert await receive(alice) == {"pong": True}
        await alice.send(json.dumps({"room": "e2e a/b", "text": "привет", "id": "x1"}))
        for ws in (alice, bob):
            frame = await receive(ws)
            assert (frame["id"], frame["room"], frame["text"], frame["sender"]) == (
                "x1",
                "e2e a/b",
                "привет",
                {"username": "e2e-alice"},
            )
        await alice.send("not json")
        assert await receive(alice) == {"error": "message is not valid JSON"}
    history = live_server_process.get_json("/api/rooms/E2E%20A%2FB/history")
    assert [m["text"] for m in history["result"]] == ["привет"]


async def test_a_handshake_without_credentials_is_refused(live_server_process):
    with pytest.raises(InvalidStatus):
        async with connect(f"{live_server_process.ws_url}/ws"):
            pass


async def test_token_clients_talk_and_nane_clients_hear_them(live_server_process):
    base = live_server_process.ws_url
    status, body = auth(live_server_process, "e2e_carol")
    assert status == 201
    async with (
        connect(f"{base}/ws?username=e2e-dave") as dave,
        connect(f"{base}/ws", subprotocols=[body["token"]]) as carol,
    ):
        assert carol.subprotocol == body["token"]
        assert await receive(carol) == {"from": "system", "body": "e2e_carol joined"}
        await carol.send(json.dumps({"type": "createroom", "args": {"name": "e2e-room"}}))
        assert await receive(carol) == {"from": "system", "body": "e2e_carol joined"}
        await carol.send(json.dumps({"type": "message", "args": {"body": "hello nane"}}))
        assert await receive(carol) == {"from": "e2e_carol", "body": "hello nane"}
        frame = await receive(dave)
        assert (frame["room"], frame["text"], frame["sender"]) == ("e2e-room", "hello nane", {"username": "e2e_carol"})
        await carol.send(json.dumps({"type": "exit"}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(carol.recv(), 5)
    assert auth(live_server_process, "e2e_carol")[0] == 201


async def test_a_token_in_the_authorization_header_works(live_server_process):
    _, body = auth(live_server_process, "e2e_erin")
    headers = {"Authorization": f"Bearer {body['token']}"}
    async with connect(f"{live_server_process.ws_url}/ws", additional_headers=headers) as erin:
        assert await receive(erin) == {"from": "system", "body": "e2e_erin joined"}


async def test_a_dropped_tcp_connection_frees_the_nickname(live_server_process):
    _, body = auth(live_server_process, "e2e_frank")
    ws = await connect(f"{live_server_process.ws_url}/ws", subprotocols=["bearer", body["token"]])
    assert ws.subprotocol == "bearer"
    assert await receive(ws) == {"from": "system", "body": "e2e_frank joined"}
    assert auth(live_server_process, "e2e_frank")[0] == 403
    ws.transport.abort()  # no close frame: the TCP connection just goes away
    assert await until_auth_succeeds(live_server_process, "e2e_frank")


async def test_an_oversized_frame_closes_with_1009(live_server_process):
    async with connect(f"{live_server_process.ws_url}/ws?username=e2e-big", max_size=None) as ws:
        await ws.send(json.dumps({"room": "r", "text": "x" * (70 * 1024)}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 1009


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """`manage.py runserver` (daphne): no pre-encoded frames, broadcasts go through websocket.send."""
    server = start_server(tmp_path_factory, "dev", server="runserver")
    yield server
    server.stop()


async def test_both_dialects_talk_under_runserver_too(dev_server):
    status, body = auth(dev_server, "dev_carol")
    assert status == 201
    base = dev_server.ws_url
    async with (
        connect(f"{base}/ws?username=dev-dave") as dave,
        connect(f"{base}/ws", subprotocols=[body["token"]]) as carol,
    ):
        assert await receive(carol) == {"from": "system", "body": "dev_carol joined"}
        await dave.send(json.dumps({"room": "global", "text": "from nane"}))
        assert (await receive(dave))["text"] == "from nane"
        assert await receive(carol) == {"from": "dev-dave", "body": "from nane"}
        await carol.send(json.dumps({"type": "message", "args": {"body": "from token"}}))
        assert await receive(carol) == {"from": "dev_carol", "body": "from token"}
        assert (await receive(dave))["text"] == "from token"
