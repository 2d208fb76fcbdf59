"""Fault scenarios for the web process: a flood of stalled connections, and a database lock held by another process.

Real `manage.py uvicorn` processes, as `make run` starts them; the bounds are the
defaults but for the deadlines (2 s, so the scenario is short). The figures are
measurements, never assertions.
"""

import asyncio
import json
import socket
import sqlite3
import time

import pytest
from websockets.asyncio.client import connect

from tests.conftest import start_server
from tests.support import ServerProcess, free_port, fresh_database_url, report, server_env

pytestmark = pytest.mark.faults
STALLED = 3000  # connections that send nothing
DRIPPING = 300  # connections that send part of a head, then nothing
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def rss_mb(process):
    with open(f"/proc/{process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def healthz_status(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(HEAD + b"Connection: close\r\n\r\n")
        return int(sock.recv(64).split(b" ", 2)[1])


def closed_by_server(sock):
    """Whether the server closes `sock` within its timeout; what it sends first (a 408, say) is skipped."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def test_a_flood_of_stalled_connections_is_cut_and_healthz_answers_throughout(tmp_path_factory):
    server = start_server(tmp_path_factory, "flood", HTTP_HEADER_TIMEOUT=2, HTTP_BODY_TIMEOUT=2)
    try:
        rss_before = rss_mb(server.process)
        opened = time.monotonic()
        stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(STALLED)]
        dripping = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(DRIPPING)]
        for sock in dripping:
            sock.sendall(HEAD + b"X-Padding: " + b"a" * 30_000)
        during = healthz_status(server)
        rss_during = rss_mb(server.process)
        for sock in stalled + dripping:
            sock.settimeout(30)
        cut = sum(closed_by_server(sock) for sock in stalled + dripping)
        all_cut_after = time.monotonic() - opened
        after = healthz_status(server)
        for sock in stalled + dripping:
            sock.close()
        assert during == after == 200
        assert cut == STALLED + DRIPPING
        report(
            "web process flooded with stalled connections",
            stalled=STALLED,
            dripping_30kb_heads=DRIPPING,
            healthz_during=during,
            cut_by_the_server=cut,
            all_cut_after_s=round(all_cut_after, 2),
            rss_mb_before_during=[round(rss_before), round(rss_during)],
        )
    finally:
        server.stop()


async def test_a_database_lock_held_elsewhere_gets_fast_503s_and_keeps_chat_sockets(tmp_path_factory):
    # SQLite's write lock, as a `sqlite3` shell's BEGIN IMMEDIATE holds it, whatever DATABASE_URL the suite runs on.
    database_url = fresh_database_url(tmp_path_factory.mktemp("held_lock"), "held_lock", engine_url="", migrated=True)
    env = server_env(database_url, DATABASE_LOCK_TIMEOUT="1", READY_CHECK_TIMEOUT="1")
    server = ServerProcess(env, free_port()).start()
    shell = sqlite3.connect(server.env["DATABASE_URL"].removeprefix("sqlite:///"), isolation_level=None)
    try:
        async with connect(f"{server.ws_url}/ws?username=held") as ws:
            shell.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            write = await asyncio.to_thread(server.call, "POST", "/client", {"name": "x", "ip": "127.0.0.1", "port": 9})
            write_s = time.monotonic() - started
            ready = await asyncio.to_thread(server.call, "GET", "/readyz")
            started = time.monotonic()
            await ws.send(json.dumps({"room": "r", "text": "during", "id": "d"}))
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            frame_s = time.monotonic() - started
            shell.execute("ROLLBACK")
            await ws.send(json.dumps({"room": "r", "text": "after", "id": "a"}))
            after = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert write[0] == 503
        assert ready[0] == 503
        assert frame == {"error": "database unavailable, try again", "id": "d"}
        assert after["text"] == "after"
        report(
            "database write lock held by another process",
            post_client=f"{write[0]} in {write_s:.2f} s",
            readyz=ready[0],
            nane_post=f"error frame in {frame_s:.2f} s, socket kept",
            after_release=after["text"],
        )
    finally:
        shell.close()
        server.stop()
