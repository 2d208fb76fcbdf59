"""A chat token sent in a query string never reaches the server's log.

The server runs the way `make run` runs it (`manage.py runserver`, whose access log prints
each request line with its query string), at LOG_LEVEL=DEBUG so that every logger speaks.
"""

import asyncio
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support import ServerProcess, free_port, fresh_database_url, manage, server_env


# runserver's access log prints request lines; uvicorn logs each WebSocket path it accepts.
@pytest.fixture(scope="module", params=["runserver", "uvicorn"])
def server(request, tmp_path_factory):
    port = free_port()
    env = server_env(fresh_database_url(tmp_path_factory.mktemp("logged"), "logged"), LOG_LEVEL="DEBUG")
    manage("migrate", "--noinput", env=env)
    server = ServerProcess(env, port, server=request.param).start()
    yield server
    server.stop()


def plain_get(url):
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError as error:
        return error.code


async def test_tokens_in_query_strings_are_redacted_from_every_log_line(server):
    status, body, _ = server.call("POST", "/auth?nickname=logged_alice")
    assert status == 201
    token = body["token"]

    async with connect(f"{server.ws_url}/ws?token={token}") as ws:
        assert "logged_alice joined" in await ws.recv()
    with pytest.raises(InvalidStatus):  # spent: refused, and refusals are logged too
        async with connect(f"{server.ws_url}/ws?token={token}"):
            pass
    # A client that forgot the upgrade: a 404 that runserver logs at WARNING, query string and all.
    assert plain_get(f"{server.url}/ws?token={token}&x=1") == 404

    for _ in range(100):  # the log line is written just after the response: wait for it
        log = server.read_log()
        if "token=[redacted]" in log:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no request line with a token was logged:\n{log}")
    assert token.split(".")[-1] not in log, "the token's signature is in the log"
