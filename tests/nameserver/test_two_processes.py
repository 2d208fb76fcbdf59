"""Two web processes on one database answer from one registry: what one is told, the other lists at once."""

import pytest

from tests.conftest import second_server, start_server


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    first = start_server(tmp_path_factory, "registry", NODE_ANNOUNCE=0)
    second = second_server(first)
    yield first, second
    second.stop()
    first.stop()


def names(server):
    return {entry["name"] for entry in server.get_json("/clients").values()}


def test_a_registration_on_one_process_is_listed_by_the_other(servers):
    first, second = servers
    names(second)  # the second process's map is read before the registration
    status, answer, _ = first.call("POST", "/client", {"ip": "10.0.0.1", "port": 1, "name": "ada"})
    assert status == 201
    assert "ada" in names(second)
    assert answer["id"] in second.get_json("/clients")


def test_a_heartbeat_on_one_process_shows_its_time_on_the_other(servers):
    first, second = servers
    _, registered, _ = first.call("POST", "/client", {"ip": "10.0.0.1", "port": 1, "name": "grace"})
    client_id = registered["id"]
    before = second.get_json("/clients")[client_id]["connected"]
    status, answer, _ = second.call("PATCH", "/client", {"id": client_id})
    assert status == 200
    assert answer[client_id]["connected"] > before
    assert first.get_json("/clients")[client_id]["connected"] == answer[client_id]["connected"]
