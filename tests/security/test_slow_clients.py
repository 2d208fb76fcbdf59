"""Slowloris and floods against `make run`'s server: heads and bodies have deadlines, heads a size, the process a cap.

The bounds are set small (1 s, 4 KiB, 12 connections) so the tests are quick; what is
asserted is only that the server answers or closes within a generous bound.
"""

import asyncio
import json
import select
import socket
import time

import pytest
from websockets.asyncio.client import connect

from tests.conftest import start_server

GENEROUS = 20.0  # seconds within which a 1 s deadline must have cut the connection
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(
        tmp_path_factory, "slow_clients", HTTP_HEADER_TIMEOUT=1, HTTP_BODY_TIMEOUT=1, HTTP_MAX_HEADER_BYTES=4096
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory):
    server = start_server(tmp_path_factory, "capped", HTTP_HEADER_TIMEOUT=1, HTTP_MAX_CONNECTIONS=12)
    yield server
    server.stop()


def open_connection(server):
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(GENEROUS)
    return sock


def until_closed(sock):
    """Everything the server sends until it closes the connection (fails if it never does within GENEROUS)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    return received


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer else None


def healthz(server):
    """The status of `GET /healthz` on a new connection, or None if the connection was refused without one."""
    try:
        sock = open_connection(server)
        sock.sendall(HEAD + b"Connection: close\r\n\r\n")
        return status_of(until_closed(sock))
    except ConnectionError:
        return None


def test_a_connection_that_sends_nothing_is_closed(server):
    assert until_closed(open_connection(server)) == b""


def test_a_head_dripped_a_byte_at_a_time_is_cut_with_408(server):
    sock = open_connection(server)
    started = time.monotonic()
    for byte in (HEAD + b"X-Padding: " + b"a" * 1000).decode():
        if select.select([sock], [], [], 0.05)[0]:  # the server has answered
            break
        sock.sendall(byte.encode())
        assert time.monotonic() - started < GENEROUS, "the dripping head was never cut"
    answer = until_closed(sock)
    assert status_of(answer) == 408
    assert b"connection: close" in answer


def test_a_body_never_sent_is_cut_with_408(server):
    sock = open_connection(server)
    sock.sendall(b"POST /client HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
    sock.sendall(b'Content-Length: 100\r\n\r\n{"name": ')
    assert status_of(until_closed(sock)) == 408


def test_a_half_sent_websocket_handshake_is_cut(server):
    sock = open_connection(server)
    sock.sendall(b"GET /ws?username=half HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
    assert status_of(until_closed(sock)) == 408


def test_an_unfinished_head_over_the_size_cap_is_refused_with_431(server):
    sock = open_connection(server)
    sock.sendall(HEAD + b"X-Padding: " + b"a" * 5000)  # no end of line: the head is still coming
    assert status_of(until_closed(sock)) == 431


def test_a_whole_head_over_the_size_cap_is_refused_with_431(server):
    sock = open_connection(server)
    sock.sendall(HEAD + b"X-Padding: " + b"a" * 4100 + b"\r\n\r\n")
    assert status_of(until_closed(sock)) == 431


def test_keep_alive_requests_are_served_past_the_header_timeout(server):
    sock = open_connection(server)
    for _ in range(2):
        sock.sendall(HEAD + b"\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}\n'):  # one answer, then the connection stays open
            answer += sock.recv(65536)
        assert status_of(answer) == 200
        time.sleep(1.5)  # idle between requests past HTTP_HEADER_TIMEOUT, within uvicorn's 5 s keep-alive
    sock.sendall(HEAD + b"Connection: close\r\n\r\n")
    assert status_of(until_closed(sock)) == 200


def test_pipelined_requests_are_answered_and_a_pipelined_oversize_head_ends_the_connection(server):
    sock = open_connection(server)
    sock.sendall(HEAD + b"\r\n" + HEAD + b"\r\n")
    sock.sendall(HEAD + b"X-Padding: " + b"a" * 4100 + b"\r\n\r\n")
    answers = until_closed(sock)
    # The requests before it are answered; then the connection is closed, or told 431 if
    # the answers had gone out already.
    assert [int(answer[:3]) for answer in answers.split(b"HTTP/1.1 ")[1:]] in ([200, 200], [200, 200, 431])


def test_pipelined_requests_are_all_answered(server):
    sock = open_connection(server)
    sock.sendall(HEAD + b"\r\n" + HEAD + b"\r\n" + HEAD + b"Connection: close\r\n\r\n")
    answers = until_closed(sock).split(b"HTTP/1.1 ")[1:]
    assert [int(answer[:3]) for answer in answers] == [200, 200, 200]


def test_a_large_body_sent_in_time_is_served(server):
    body = json.dumps({"name": "slow-but-fine", "address": "127.0.0.1:1", "padding": "a" * 200_000}).encode()
    sock = open_connection(server)
    sock.sendall(b"POST /client HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n")
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert status_of(until_closed(sock)) in (201, 400)  # answered by the application, not cut


async def test_a_quiet_websocket_outlives_the_header_timeout(server):
    async with connect(f"{server.ws_url}/ws?username=quiet-one") as ws:
        await asyncio.sleep(1.5)
        await ws.send(json.dumps({"ping": True}))
        assert json.loads(await asyncio.wait_for(ws.recv(), GENEROUS)) == {"pong": True}


def test_past_the_connection_cap_new_connections_are_refused_until_the_idle_ones_are_cut(capped_server):
    held = [open_connection(capped_server) for _ in range(12)]
    # Accepted in order, so the held ones are counted by the time this one is.
    assert healthz(capped_server) in (503, None)
    for sock in held:
        assert until_closed(sock) == b""  # cut by the header timeout: they never sent a byte
    deadline = time.monotonic() + GENEROUS
    while (status := healthz(capped_server)) != 200 and time.monotonic() < deadline:
        time.sleep(0.1)  # the server notices the closes on its next loop pass
    assert status == 200


def test_a_refused_connection_is_told_503_without_sending_anything(capped_server):
    held = [open_connection(capped_server) for _ in range(12)]
    try:
        refused = open_connection(capped_server)
        answer = until_closed(refused)
        assert status_of(answer) == 503
        assert b"Too many connections" in answer
    finally:
        for sock in held:
            sock.close()


def test_the_connection_cap_stays_within_the_open_file_limit(monkeypatch):
    from chatsite.server import http_protocol

    limits = {"soft": 1024, "hard": 4096}
    monkeypatch.setattr(http_protocol.resource, "getrlimit", lambda _: (limits["soft"], limits["hard"]))
    monkeypatch.setattr(http_protocol.resource, "setrlimit", lambda _, pair: limits.update(soft=pair[0]))
    assert http_protocol.connection_cap(500) == 500  # within the limit as it is
    assert http_protocol.connection_cap(2000) == 2000  # the soft limit raised to 2,100
    assert limits["soft"] == 2000 + http_protocol.RESERVED_FILES
    assert http_protocol.connection_cap(10000) == 4096 - http_protocol.RESERVED_FILES  # the hard limit is the most


def test_a_websocket_message_announced_past_twice_the_frame_limit_is_refused_before_it_arrives(server):
    sock = open_connection(server)
    sock.sendall(
        b"GET /ws?username=big HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    # A masked text frame saying 10 MiB follow, then 64 KiB of them and nothing more: the
    # server must not wait for (and buffer) the rest.
    sock.sendall(b"\x81\xff" + (10 * 1024 * 1024).to_bytes(8, "big") + b"\0\0\0\0" + b"a" * 65536)
    try:
        answer = until_closed(sock)
    except ConnectionResetError:  # closed with our bytes unread: the kernel resets, the close frame may be lost
        return
    assert answer.startswith(b"\x88\x02" + (1009).to_bytes(2, "big")), answer[:16]
