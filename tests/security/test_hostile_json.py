"""JSON built to break the parser, sent to `make run`'s server on every path that reads JSON.

3 KB of `[` made Python's parser raise RecursionError, which no decoder caught: the socket
dropped without a close frame (1006) and kept its state (a nickname, a signaling row, a
fan-out entry), and the HTTP endpoints answered 500 (the debug page under DEBUG).
`NaN` and `Infinity` are not JSON either: forwarded by signaling, they reach a browser
whose `JSON.parse` refuses the whole frame. All of them are bad frames now: the
dialect's error frame with the socket kept open, or a 400 with the endpoint's JSON body.
"""

import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest
from websockets.asyncio.client import connect

from tests.messaging.test_real_server import auth

NESTED = {
    "unclosed": "[" * 3000,
    "closed": "[" * 3000 + "]" * 3000,
    "objects": '{"a":' * 3000 + "1" + "}" * 3000,
}
# Python's json module reads all of them; none is JSON (RFC 8259), and JSON.parse refuses them.
NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400"]


def unique(name):
    # The live server's database is shared by the whole session.
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def receive(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


# --- nane dialect ------------------------------------------------------------------------


@pytest.mark.parametrize("frame", NESTED.values(), ids=NESTED.keys())
async def test_deeply_nested_nane_frame_gets_an_error_and_the_socket_stays_open(live_server_process, frame):
    async with connect(f"{live_server_process.ws_url}/ws?username={unique('nested')}") as ws:
        await ws.send(frame)
        assert await receive(ws) == {"error": "message is not valid JSON: nested deeper than 32 levels"}
        await ws.send(json.dumps({"ping": True}))
        assert await receive(ws) == {"pong": True}


@pytest.mark.parametrize("number", NOT_NUMBERS)
async def test_nane_frame_holding_nan_or_infinity_is_refused_and_stores_nothing(live_server_process, number):
    room = unique("nan room")
    async with connect(f"{live_server_process.ws_url}/ws?username={unique('nan')}") as ws:
        await ws.send(f'{{"room": "{room}", "text": "hi", "id": "n-1", "x": {number}}}')
        answer = await receive(ws)
        assert answer["error"].startswith("message is not valid JSON: "), answer
        await ws.send(json.dumps({"ping": True}))
        assert await receive(ws) == {"pong": True}
    rooms = [entry["name"] for entry in live_server_process.get_json("/api/rooms")["result"]]
    assert room not in rooms


# --- token dialect -----------------------------------------------------------------------


async def token_socket(server, nickname):
    status, body = await asyncio.to_thread(auth, server, nickname)
    assert status == 201, body
    ws = await connect(f"{server.ws_url}/ws", subprotocols=[body["token"]])
    assert await receive(ws) == {"from": "system", "body": f"{nickname} joined"}
    return ws


@pytest.mark.parametrize("frame", [*NESTED.values(), '{"type": "listusers", "args": {"x": NaN}}'])
async def test_deeply_nested_or_nan_command_gets_the_parse_error_and_the_session_goes_on(live_server_process, frame):
    nickname = unique("nested").replace("-", "_")
    ws = await token_socket(live_server_process, nickname)
    async with ws:
        await ws.send(frame)
        assert await receive(ws) == {"from": "system", "body": "error parsing your message"}
        await ws.send(json.dumps({"type": "listusers"}))
        assert await receive(ws) == {"from": "system", "body": nickname}


# --- signaling ---------------------------------------------------------------------------


def register(server):
    username = unique("nested")
    status, _, headers = server.call("POST", "/v1/register", {"username": username})
    assert status == 200
    return username, {"Cookie": headers["Set-Cookie"].split(";")[0]}


async def assert_still_reachable(ws, username):
    """A signal to oneself comes back next: nothing came before it, and the socket holds its user."""
    await ws.send(json.dumps({"target": username, "type": "marker", "payload": "m"}))
    assert await receive(ws) == {"target": username, "type": "marker", "originator": username, "payload": "m"}


@pytest.mark.parametrize("frame", NESTED.values(), ids=NESTED.keys())
async def test_deeply_nested_signal_gets_an_error_frame_and_the_socket_stays_open(live_server_process, frame):
    username, cookie = register(live_server_process)
    async with connect(f"{live_server_process.ws_url}/v1/connect", additional_headers=cookie) as ws:
        await ws.send(frame)
        assert await receive(ws) == {
            "type": "ERROR",
            "payload": "frame is not valid JSON: nested deeper than 32 levels",
        }
        await assert_still_reachable(ws, username)


@pytest.mark.parametrize("number", NOT_NUMBERS)
async def test_a_nan_or_infinite_payload_is_refused_not_forwarded(live_server_process, number):
    username, cookie = register(live_server_process)
    async with connect(f"{live_server_process.ws_url}/v1/connect", additional_headers=cookie) as ws:
        await ws.send(f'{{"target": "{username}", "type": "offer", "payload": {{"sdp": {number}}}}}')
        answer = await receive(ws)
        assert answer["type"] == "ERROR", answer
        assert answer["payload"].startswith("frame is not valid JSON: "), answer
        await assert_still_reachable(ws, username)


async def test_a_payload_nested_to_the_limit_is_forwarded_unchanged(live_server_process):
    username, cookie = register(live_server_process)
    payload = [[[[{"ok": [1.5]}]]]]
    for _ in range(25):
        payload = [payload]
    async with connect(f"{live_server_process.ws_url}/v1/connect", additional_headers=cookie) as ws:
        frame = {"target": username, "type": "deep", "payload": payload}  # 32 levels, the frame included
        await ws.send(json.dumps(frame))
        assert await receive(ws) == {**frame, "originator": username}


# --- HTTP --------------------------------------------------------------------------------


def post_raw(server, method, path, body, content_type="application/json"):
    """(status, Content-Type, body) of a request with exactly these bytes as its body."""
    request = urllib.request.Request(
        server.url + path, data=body.encode(), method=method, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


ENDPOINTS = {
    "register a name-server client": ("POST", "/client", "detail"),
    "name-server heartbeat": ("PATCH", "/client", "detail"),
    "register a web node": ("POST", "/node", "detail"),
    "token-dialect auth": ("POST", "/auth", "error"),
    "signaling register": ("POST", "/v1/register", "message"),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
@pytest.mark.parametrize("body", [*NESTED.values(), '{"nickname": "a", "username": "a", "x": NaN}'])
def test_a_deeply_nested_or_nan_body_is_a_400_with_the_endpoints_json_error(live_server_process, endpoint, body):
    method, path, error_key = endpoint
    status, content_type, answer = post_raw(live_server_process, method, path, body)
    # The server runs with DEBUG on, as `make run` does: no technical error page either.
    assert (status, content_type) == (400, "application/json"), answer[:200]
    assert json.loads(answer)[error_key]


def test_register_answers_a_nested_body_as_any_body_it_cannot_read(live_server_process):
    status, _, answer = post_raw(live_server_process, "POST", "/v1/register", "[" * 3000)
    assert status == 400
    assert json.loads(answer) == {"status": "INVALID", "message": "send a JSON object or a form with a username"}
