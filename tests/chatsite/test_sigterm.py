"""Every process of the Procfile stops cleanly on SIGTERM: exit code 0, sockets closed, no traceback."""

import asyncio
import contextlib
import signal
import sqlite3
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support import (
    ServerProcess,
    free_port,
    fresh_database_url,
    manage,
    manage_command,
    output,
    report,
    server_env,
    spawn,
    stop_process,
)

pytestmark = pytest.mark.faults


@pytest.fixture
def env(tmp_path):
    return server_env(fresh_database_url(tmp_path, "sigterm", migrated=True))


async def close_code(ws):
    """The close code the server sent (None when the connection just dropped)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def sigterm(process):
    """SIGTERM and wait; the exit code (None if it had to be killed) and the seconds it took."""
    began = time.monotonic()
    code = stop_process(process, timeout=10)
    return code, round(time.monotonic() - began, 2)


async def wait_for_output(process, text, timeout=20, times=1):
    deadline = time.monotonic() + timeout
    while output(process).count(text) < times:
        assert process.poll() is None, f"exited with {process.returncode}:\n{output(process)}"
        assert time.monotonic() < deadline, f"no {text!r} in:\n{output(process)}"
        await asyncio.sleep(0.05)


# uvicorn closes with 1012 (service restart), which tells clients to reconnect, as 1001 does.
@pytest.mark.parametrize(("server_name", "close"), [("runserver", 1001), ("daphne", 1001), ("uvicorn", 1012)])
async def test_a_web_process_closes_every_socket_and_frees_its_users(env, server_name, close):
    server = ServerProcess(env, free_port(), server=server_name).start()
    try:
        token = server.call("POST", "/auth?nickname=tess")[1]["token"]
        cookie = server.call("POST", "/v1/register", {"username": "sig"})[2]["Set-Cookie"].split(";")[0]
        sockets = [
            await connect(f"{server.ws_url}/ws?username=nane"),
            await connect(f"{server.ws_url}/ws", subprotocols=[token]),
            await connect(f"{server.ws_url}/v1/connect", additional_headers={"Cookie": cookie}),
        ]
        await sockets[1].recv()  # "tess joined": the session is open
        began = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        codes = [await close_code(ws) for ws in sockets]
        exit_code = server.process.wait(10)
        seconds = round(time.monotonic() - began, 2)
    finally:
        server.stop()
    log = output(server.process)
    assert codes == [close] * 3
    assert exit_code == 0, log
    assert "Traceback" not in log
    # The consumers' disconnect handlers ran: the nickname and the signaling user are free at once.
    held = "from messaging.models import ChatSession as C; from signaling.models import ActiveConnection as A; "
    held += "print(C.objects.holding_nickname().count(), A.objects.count())"
    assert manage("shell", "--no-imports", "-c", held, env=env).split() == ["0", "0"]
    report(
        f"SIGTERM web ({server_name})",
        close_codes=codes,
        exit_code=exit_code,
        exit_s=seconds,
    )


@contextlib.contextmanager
def database_write_lock(database_url):
    """Hold the write lock that opening a chat session needs, from outside the server."""
    if database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(database_url) as connection:
            connection.execute("LOCK TABLE messaging_chatsession IN EXCLUSIVE MODE")
            yield
    else:
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.close()


async def opened(connecting):
    return await connecting


async def test_runserver_shuts_down_cleanly_while_a_handshake_waits_for_the_database(env):
    env = {**env, "DJANGO_SETTINGS_MODULE": "tests.access_log_settings"}  # logs each handshake
    server = ServerProcess(env, free_port(), server="runserver").start()
    try:
        token = server.call("POST", "/auth?nickname=stuck")[1]["token"]
        open_socket = await connect(f"{server.ws_url}/ws?username=open")
        with database_write_lock(env["DATABASE_URL"]):
            # Held in connect(): open_session waits for the lock, so the socket stays in its handshake.
            handshake = asyncio.create_task(opened(connect(f"{server.ws_url}/ws", subprotocols=[token])))
            # Daphne logs a handshake once it has handed it to the application (the open socket's was
            # the first): from then on the refusal asserted below, a 403, is what a shutdown sends it.
            await wait_for_output(server.process, "WebSocket HANDSHAKING /ws ", times=2)
            began = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            code = await close_code(open_socket)
            await wait_for_output(server.process, "Shut down")
        # The lock is released only now: the stuck database call may end, and so may the process.
        exit_code = server.process.wait(20)
        seconds = round(time.monotonic() - began, 2)
        with pytest.raises(InvalidStatus) as refusal:
            await handshake
    finally:
        server.stop()
    log = output(server.process)
    assert refusal.value.response.status_code == 403
    assert code == 1001, log
    assert exit_code == 0, log
    assert "cannot close a connection not yet connected" not in log
    report("SIGTERM runserver (handshake held by a locked database)", close_code=code, exit_s=seconds)


async def test_the_nameserver_worker_stops_between_passes(env):
    worker = spawn(manage_command("nameserver_worker"), env)
    await wait_for_output(worker, "Pruned")
    exit_code, seconds = sigterm(worker)
    assert exit_code == 0
    assert "Stopped." in output(worker)
    assert "Traceback" not in output(worker)
    report("SIGTERM nameserver_worker", exit_code=exit_code, exit_s=seconds)


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "server-down"])
async def test_kozma_stops_whether_connected_or_retrying(tmp_path, live_server_process, connected):
    env = server_env(fresh_database_url(tmp_path, "unused"))  # the bot is only a client
    url = live_server_process.ws_url if connected else f"ws://127.0.0.1:{free_port()}"
    bot = spawn(manage_command("kozma", "--url", url, "--start-delay", "0", "--max-interval", "0.2"), env)
    await wait_for_output(bot, "kozma: connected" if connected else "unreachable")
    exit_code, seconds = sigterm(bot)
    assert exit_code == 0
    assert "kozma: stopped after" in output(bot)
    assert "Traceback" not in output(bot)
    report(f"SIGTERM kozma ({'connected' if connected else 'retrying'})", exit_code=exit_code, exit_s=seconds)
