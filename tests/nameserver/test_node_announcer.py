import time

import pytest

from tests.conftest import start_server


@pytest.fixture
def node(tmp_path_factory):
    server = start_server(tmp_path_factory, "node", NODE_NAME="node-a", NAMESERVER_TTL=1)
    yield server
    server.stop()


def test_web_node_lists_itself_and_stays_live_past_the_ttl(node):
    deadline = time.monotonic() + 15
    seen = []
    while time.monotonic() < deadline and len(seen) < 3:
        entries = [entry for entry in node.get_json("/clients").values() if entry["name"] == "node-a"]
        if entries:
            seen.append(entries[0]["connected"])
        time.sleep(0.5)

    # Three sightings over at least a second, each with a fresher heartbeat: it outlives the 1 s TTL.
    assert len(seen) == 3
    assert seen == sorted(set(seen))
    assert entries[0]["ip"] == "127.0.0.1"
