"""A chat token sent in a query string never reaches the server's log.

The server runs the way `make run` runs it (`manage.py runserver`, whose access log prints
each request line with its query string), at LOG_LEVEL=DEBUG so that every logger speaks.
"""

import time
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support import ServerProcess, free_port, fresh_database_url, server_env

# runserver's access log prints request lines; uvicorn logs each WebSocket path it accepts or
# refuses. The last line of the test's requests that each one logs:
LAST_LINE = {
    "runserver": "GET /ws?token=[redacted]&x=1 404",
    "uvicorn": '"WebSocket /ws?token=[redacted]" 403',
}


@pytest.fixture(scope="module", params=["runserver", "uvicorn"])
def server(request, tmp_path_factory):
    port = free_port()
    env = server_env(fresh_database_url(tmp_path_factory.mktemp("logged"), "logged", migrated=True), LOG_LEVEL="DEBUG")
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

    # A line is written just after its response: wait (bounded) for the last one, so the
    # check below reads every line these requests produced.
    deadline = time.monotonic() + 30
    while LAST_LINE[server.server] not in (log := server.read_log()):
        assert time.monotonic() < deadline, f"no {LAST_LINE[server.server]!r} line was logged:\n{log}"
        time.sleep(0.05)
    assert token.split(".")[-1] not in log, "the token's signature is in the log"
