"""`GET /metrics` after real traffic over real sockets: every figure moves by what happened."""

import asyncio
import json
import time
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.signaling.conftest import frames_until_closed
from tests.support import figure, scrape

TOO_MANY = "too many messages"


def metrics(server):
    return scrape(f"{server.url}/metrics")


async def until(condition, what, timeout=10):
    """Wait for the server to catch up with what the client did (a close is handled after the client sees it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never true: {what}"
        await asyncio.sleep(0.05)


def open_sockets(server, path):
    return lambda: figure(metrics(server), "chatsite_websocket_connections", path=path)


async def no_open_sockets(server, path):
    await until(lambda: open_sockets(server, path)() == 0, f"no socket open on {path}")


async def receive(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def post(server, path, body=None, headers=None):
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers, json.load(response)


async def test_a_message_counts_once_stored_and_once_per_socket_it_reaches(live_server_process):
    server = live_server_process
    await no_open_sockets(server, "/ws")
    before = metrics(server)
    async with (
        connect(f"{server.ws_url}/ws?username=metrics-alice") as alice,
        connect(f"{server.ws_url}/ws?username=metrics-bob") as bob,
        connect(f"{server.ws_url}/ws?username=metrics-carol") as carol,
    ):
        assert open_sockets(server, "/ws")() == 3
        await alice.send(json.dumps({"room": "metrics", "text": "counted", "id": "m1"}))
        for ws in (alice, bob, carol):
            assert (await receive(ws))["text"] == "counted"
        after = metrics(server)
    assert figure(after, "chatsite_chat_messages_total") == figure(before, "chatsite_chat_messages_total") + 1
    assert figure(after, "chatsite_chat_deliveries_total") == figure(before, "chatsite_chat_deliveries_total") + 3
    await no_open_sockets(server, "/ws")


async def test_an_oversized_frame_counts_as_a_close_for_being_too_big(live_server_process):
    server = live_server_process
    before = figure(metrics(server), "chatsite_websocket_closed_total", reason="too_big")
    async with connect(f"{server.ws_url}/ws?username=metrics-big", max_size=None) as ws:
        await ws.send("x" * (64 * 1024 + 1))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert figure(metrics(server), "chatsite_websocket_closed_total", reason="too_big") == before + 1


async def test_every_frame_refused_by_the_rate_limit_is_counted(live_server_process):
    server = live_server_process
    before = figure(metrics(server), "chatsite_websocket_frames_refused_total", reason="rate")
    async with connect(f"{server.ws_url}/ws?username=metrics-flood") as ws:
        # Twice the burst at once: the bucket refills far too slowly for all of them to pass.
        frames = 400
        for _ in range(frames):
            await ws.send("not json")
        errors = [(await receive(ws))["error"] for _ in range(frames)]
    refused = sum(TOO_MANY in error for error in errors)
    assert refused > 0
    assert figure(metrics(server), "chatsite_websocket_frames_refused_total", reason="rate") == before + refused


async def test_signaling_counts_active_users_forwarded_frames_and_kicks(live_server_process):
    server = live_server_process
    cookies = {}
    for name in ("metricsann", "metricsben"):
        headers, _ = post(server, "/v1/register", {"username": name})
        cookies[name] = headers["Set-Cookie"].split(";")[0]
    before = metrics(server)
    ann = await connect(f"{server.ws_url}/v1/connect", additional_headers={"Cookie": cookies["metricsann"]})
    ben = await connect(f"{server.ws_url}/v1/connect", additional_headers={"Cookie": cookies["metricsben"]})
    try:
        during = metrics(server)
        active = figure(before, "chatsite_signaling_active_users")
        assert figure(during, "chatsite_signaling_active_users") == active + 2
        assert (
            open_sockets(server, "/v1/connect")()
            == figure(before, "chatsite_websocket_connections", path="/v1/connect") + 2
        )
        await ann.send(json.dumps({"target": "metricsben", "type": "offer", "payload": {"sdp": "v=0"}}))
        assert (await receive(ben))["originator"] == "metricsann"
        _, kicked = post(server, "/v1/kick-active-users")
        assert kicked == {"kicked": 2}
        for ws in (ann, ben):
            assert (await frames_until_closed(ws))[1] == (4001, "KICKED")
    finally:
        await ann.close()
        await ben.close()
    after = metrics(server)
    forwarded = "chatsite_signaling_frames_forwarded_total"
    assert figure(after, forwarded) == figure(before, forwarded) + 1
    kicks = figure(after, "chatsite_websocket_closed_total", reason="kicked")
    assert kicks == figure(before, "chatsite_websocket_closed_total", reason="kicked") + 2
    assert figure(after, "chatsite_signaling_active_users") == active
    await no_open_sockets(server, "/v1/connect")


def test_a_registered_name_server_client_is_a_live_one(live_server_process):
    server = live_server_process
    before = figure(metrics(server), "chatsite_nameserver_live_clients")
    post(server, "/client", {"ip": "127.0.0.1", "port": 4000, "name": "metrics"})
    assert figure(metrics(server), "chatsite_nameserver_live_clients") == before + 1
