"""A database locked by another process: quick 503s, error frames on open sockets, `/readyz` not ready; then recovery.

The lock is what a `sqlite3` shell's `BEGIN IMMEDIATE` holds: the write lock, readers
still served (WAL). The server waits `DATABASE_LOCK_TIMEOUT` (0.5 s here) for it.
"""

import asyncio
import json
import sqlite3
import urllib.request
from contextlib import contextmanager

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from websockets.asyncio.client import connect

from chatsite.core.database_unavailable import DatabaseUnavailableMiddleware
from tests.support import ServerProcess, free_port, fresh_database_url, server_env

UNAVAILABLE = {"error": "database unavailable, try again"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # SQLite, whatever DATABASE_URL the suite runs on.
    database_url = fresh_database_url(tmp_path_factory.mktemp("locked"), "locked", engine_url="", migrated=True)
    env = server_env(database_url, DATABASE_LOCK_TIMEOUT="0.5", READY_CHECK_TIMEOUT="0.5")
    server = ServerProcess(env, free_port()).start()
    server.database_path = database_url.removeprefix("sqlite:///")
    yield server
    server.stop()


@contextmanager
def locked(server):
    """Hold SQLite's write lock from another connection, as `BEGIN IMMEDIATE` in a shell does."""
    shell = sqlite3.connect(server.database_path, isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        shell.execute("ROLLBACK")
        shell.close()


def register(server, name):
    return server.call("POST", "/client", {"name": name, "ip": "127.0.0.1", "port": 9})


def token_for(server, nickname):
    request = urllib.request.Request(f"{server.url}/auth?nickname={nickname}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


async def receive(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


def test_a_write_is_answered_503_json_while_the_database_is_locked_and_201_after(server):
    with locked(server):
        status, answer, headers = register(server, "locked-out")
        assert (status, answer) == (503, UNAVAILABLE)
        assert headers["Retry-After"] == "1"
        assert headers["Content-Type"] == "application/json"
    assert register(server, "let-in")[0] == 201


def test_readyz_says_not_ready_while_writes_cannot_commit_and_ready_after(server):
    with locked(server):
        status, answer, _ = server.call("GET", "/readyz")
        assert status == 503
        assert list(answer["failed"]) == ["database"]
        assert "writes cannot commit: database is locked" in answer["failed"]["database"]
        assert server.call("GET", "/healthz")[0] == 200
    assert server.call("GET", "/readyz")[:2] == (200, {"status": "ready", "failed": {}})


async def test_a_nane_post_is_refused_with_an_error_frame_and_the_socket_stays_open(server):
    async with connect(f"{server.ws_url}/ws?username=locked-nane") as ws:
        with locked(server):
            await ws.send(json.dumps({"room": "lobby", "text": "lost?", "id": "m1"}))
            assert await receive(ws) == {**UNAVAILABLE, "id": "m1"}
            await ws.send(json.dumps({"ping": True}))
            assert await receive(ws) == {"pong": True}
        await ws.send(json.dumps({"room": "lobby", "text": "sent again", "id": "m2"}))
        frame = await receive(ws)
        assert (frame["id"], frame["text"]) == ("m2", "sent again")


async def test_a_token_message_is_refused_with_an_error_frame_and_the_socket_stays_open(server):
    token = await asyncio.to_thread(token_for, server, "locked_token")
    async with connect(f"{server.ws_url}/ws", subprotocols=[token]) as ws:
        assert await receive(ws) == {"from": "system", "body": "locked_token joined"}
        await ws.send(json.dumps({"type": "createroom", "args": {"name": "locked-room"}}))
        assert await receive(ws) == {"from": "system", "body": "locked_token joined"}
        with locked(server):
            await ws.send(json.dumps({"type": "message", "args": {"body": "lost?"}}))
            assert await receive(ws) == {"from": "system", "body": UNAVAILABLE["error"]}
            await ws.send(json.dumps({"type": "switchroom", "args": {"room": "global"}}))
            assert await receive(ws) == {"from": "system", "body": UNAVAILABLE["error"]}
            await ws.send(json.dumps({"type": "listusers", "args": {}}))  # a read: WAL still serves it
            assert await receive(ws) == {"from": "system", "body": "locked_token"}
        # Still in locked-room, and still hearing it.
        await ws.send(json.dumps({"type": "message", "args": {"body": "sent again"}}))
        assert await receive(ws) == {"from": "locked_token", "body": "sent again"}


def test_a_page_view_that_cannot_reach_the_database_answers_503_json():
    def page(request):
        raise OperationalError("database is locked")

    middleware = DatabaseUnavailableMiddleware(page)
    request = RequestFactory().get("/contacts/")
    response = middleware.process_exception(request, OperationalError("database is locked"))
    assert response.status_code == 503
    assert json.loads(response.content) == UNAVAILABLE
