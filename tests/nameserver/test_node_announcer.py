"""A web node registers itself as a name-server node and heartbeats, so it stays listed past the TTL."""

import time
from datetime import datetime, timedelta

import pytest

from tests.conftest import start_server

TTL = 3


@pytest.fixture
def node(tmp_path_factory):
    server = start_server(tmp_path_factory, "node", NODE_NAME="node-a", NAMESERVER_TTL=TTL)
    yield server
    server.stop()


def sighting(node):
    """(id, connected, ip) of node-a as `GET /nodes` lists it, or None."""
    for node_id, entry in node.get_json("/nodes").items():
        if entry["name"] == "node-a":
            return node_id, datetime.fromisoformat(entry["connected"]), entry["ip"]
    return None


def test_web_node_lists_itself_as_a_node_and_keeps_heartbeating_past_the_ttl(node):
    # Until the node is listed with a heartbeat more than a TTL after its first one: a
    # registration without heartbeats would have expired by then. The deadline only bounds
    # a node that stopped heartbeating; no number of heartbeats in a window is expected.
    deadline = time.monotonic() + 30
    sightings = []
    while not sightings or sightings[-1][1] - sightings[0][1] <= timedelta(seconds=TTL):
        assert time.monotonic() < deadline, f"node-a was not kept listed past the {TTL} s TTL: {sightings}"
        seen = sighting(node)
        assert seen is not None or not sightings, f"node-a dropped out of the list after {sightings}"
        if seen is not None:
            sightings.append(seen)
        time.sleep(0.2)

    assert {(node_id, ip) for node_id, _, ip in sightings} == {(sightings[0][0], "127.0.0.1")}, "one registration"
    # Never where the Go chat clients look for peers.
    assert node.get_json("/clients") == {}
