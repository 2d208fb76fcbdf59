import time

import pytest

from tests.conftest import start_server


@pytest.fixture
def node(tmp_path_factory):
    server = start_server(tmp_path_factory, "node", NODE_NAME="node-a", NAMESERVER_TTL=3)
    yield server
    server.stop()


def test_web_node_lists_itself_as_a_node_and_keeps_heartbeating_past_the_ttl(node):
    deadline = time.monotonic() + 30
    sightings = {}
    while time.monotonic() < deadline and len(sightings) < 5:
        for node_id, entry in node.get_json("/nodes").items():
            if entry["name"] == "node-a":
                sightings[entry["connected"]] = (node_id, entry["ip"])
        time.sleep(0.5)

    # Five heartbeats (over 4 s) of one registration: it outlives the 3 s TTL without re-registering.
    assert len(sightings) == 5
    assert set(sightings.values()) == {(next(iter(sightings.values()))[0], "127.0.0.1")}
    # Never where the Go chat clients look for peers.
    assert node.get_json("/clients") == {}
