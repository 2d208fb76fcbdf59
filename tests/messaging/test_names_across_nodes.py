"""One name, one speaker across web processes sharing a database."""

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import second_server, start_server
from tests.support import manage

FAST = {"CHAT_SESSION_STALE_AFTER": 1.5, "CHAT_SESSION_HEARTBEAT_INTERVAL": 0.3}
NANE_ROW = (
    "import json; from messaging.models import ChatSession as C; "
    "print(json.dumps(list(C.objects.filter(key={key!r}, ended__isnull=True).values_list('pk', 'nodes'))))"
)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    one = start_server(tmp_path_factory, "names-one", **FAST)
    two = second_server(one)
    yield one, two
    two.stop()
    one.stop()


def auth_status(server, nickname):
    return server.call("POST", f"/auth?nickname={nickname}")[0]


async def nane_refused(server, username):
    try:
        async with connect(f"{server.ws_url}/ws?username={username}"):
            return False
    except InvalidStatus:
        return True


async def holding_nodes(server, key, wanted):
    """[(id, nodes)] of the name's unended row ([] when none), once its counts are `wanted`."""
    deadline = time.monotonic() + 15
    while True:
        out = await asyncio.to_thread(manage, "shell", "-c", NANE_ROW.format(key=key), env=server.env)
        held = [tuple(row) for row in json.loads(out.strip().splitlines()[-1])]  # after the shell's own notice
        if [nodes for _, nodes in held] == wanted or time.monotonic() > deadline:
            return held
        await asyncio.sleep(0.1)


async def test_a_nane_user_on_one_node_holds_the_name_on_the_other(nodes):
    one, two = nodes
    async with connect(f"{one.ws_url}/ws?username=bob2"):
        assert auth_status(two, "bob2") == 403
        assert auth_status(two, "BOB2") == 403
        assert await nane_refused(two, "Bob2")


async def test_a_name_shared_by_two_nodes_is_held_until_the_last_node_lets_go(nodes):
    one, two = nodes
    async with connect(f"{one.ws_url}/ws?username=carol") as on_one, connect(f"{two.ws_url}/ws?username=carol"):
        [(row, _)] = await holding_nodes(one, "carol", [2])
        await on_one.close()
        # The same row, never ended: not freed and claimed again, which would leave a moment when it is free.
        assert await holding_nodes(one, "carol", [1]) == [(row, 1)]
        assert auth_status(one, "carol") == 403, "node two's socket still holds carol"
    assert await holding_nodes(one, "carol", []) == []
    assert auth_status(one, "carol") == 201
