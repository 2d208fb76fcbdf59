"""One address cannot hold every socket of the server: WS_MAX_CONNECTIONS_PER_ADDRESS, over real sockets."""

import asyncio
import socket

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory, "per_address", WS_MAX_CONNECTIONS_PER_ADDRESS=2)
    yield server
    server.stop()


def from_address(server, address):
    """A TCP connection to the server whose source address is `address` (any 127.x.y.z is local)."""
    sock = socket.socket()
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


async def nane(server, name, source="127.0.0.1"):
    return await connect(f"{server.ws_url}/ws?username={name}", sock=from_address(server, source))


async def test_a_third_socket_from_one_address_is_refused_until_one_closes(server):
    first, second = await nane(server, "first"), await nane(server, "second")

    for path in ("/ws?username=third", "/v1/connect"):
        with pytest.raises(InvalidStatus) as refusal:
            await connect(server.ws_url + path)
        assert refusal.value.response.status_code == 403
    assert second.state.name == "OPEN"

    await first.close()
    # The server frees the slot once it has seen the close; poll (bounded) rather than time it.
    for _ in range(100):
        try:
            third = await nane(server, "third")
            break
        except InvalidStatus:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("the closed socket's slot was never freed")
    await third.send('{"ping": true}')
    assert await asyncio.wait_for(third.recv(), 5) == '{"pong":true}'
    await second.close()
    await third.close()


async def test_another_address_is_not_held_back_by_a_full_one(server):
    # An address of its own: the sockets of the test before may still be closing.
    full = [await nane(server, f"full-{index}", source="127.0.0.3") for index in range(2)]

    other = await nane(server, "other", source="127.0.0.2")

    await other.send('{"ping": true}')
    assert await asyncio.wait_for(other.recv(), 5) == '{"pong":true}'
    for ws in (*full, other):
        await ws.close()
