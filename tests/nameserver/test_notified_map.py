"""On PostgreSQL each process keeps the live map from the registry's notifications, and writes a
request cycle's heartbeats together when the cycle ends."""

import json
import logging
import time

import pytest
from django.db import connection

from chatsite.server.handlers import DjangoHandlers
from chatsite.server.wsgi_bridge import WSGIBridge
from nameserver import services
from nameserver.models import Client
from nameserver.notified_map import notified_map
from tests.nameserver.test_kept_map import on_another_connection
from tests.support import http_scope

pytestmark = [
    pytest.mark.django_db(transaction=True),  # autocommit, as in the server: the map is kept only there
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the notified map is PostgreSQL's"),
]


@pytest.fixture
def bridge():
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    bridge.cycle = handlers.batch
    return bridge


def heartbeat(bridge, client_id):
    scope = {
        **http_scope("/client"),
        "method": "PATCH",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
    }
    status, _, body = bridge.respond(scope, json.dumps({"id": client_id}).encode())
    return status, json.loads(body)


def stored_connected(client_id):
    """`connected` as another connection reads it from the table."""
    seen = []
    on_another_connection(lambda: seen.append(Client.objects.filter(id=client_id).values_list("connected").first()))
    return seen[0] and seen[0][0]


def test_the_heartbeats_of_a_cycle_are_written_together_when_it_ends(bridge, register, clock):
    ids = [register(name=f"client {n}") for n in range(3)]
    before = {client_id: stored_connected(client_id) for client_id in ids}
    clock.advance(1)
    with bridge.cycle():
        answers = [heartbeat(bridge, client_id) for client_id in ids]
        assert [stored_connected(client_id) for client_id in ids] == list(before.values())  # not yet
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[0][1][ids[0]]["connected"] == clock().isoformat(timespec="microseconds")
    assert all(stored_connected(client_id) == clock() for client_id in ids)


def test_a_heartbeat_pruned_before_its_cycle_ends_is_not_stored(bridge, register, caplog):
    client_id = register(name="doomed")
    with bridge.cycle(), caplog.at_level(logging.WARNING, logger="nameserver.notified_map"):
        assert heartbeat(bridge, client_id)[0] == 200
        on_another_connection(lambda: Client.objects.filter(id=client_id).delete())
    assert stored_connected(client_id) is None  # not resurrected
    assert f"The heartbeat of {client_id} was not stored" in caplog.text
    assert json.loads(services.live_json(Client)) == {}


def test_an_unknown_client_is_refused_without_a_write(bridge, register):
    register(name="known")
    with bridge.cycle():
        status, answer = heartbeat(bridge, "0b7e3a62-5f2c-4c43-9b7e-2f4b1a0c9d11")
    assert status == 404
    assert "unknown or expired" in answer["error"]
    assert not notified_map("default").unwritten


def test_a_truncated_table_empties_the_map(register):
    register(name="gone")
    assert len(json.loads(services.live_json(Client))) == 1

    def truncate():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Client._meta.db_table}")

    on_another_connection(truncate)
    assert json.loads(services.live_json(Client)) == {}


def test_a_lost_listening_connection_is_opened_again(register):
    register(name="first")
    assert len(json.loads(services.live_json(Client))) == 1
    listening = notified_map("default").connection.info.backend_pid

    def terminate():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [listening])
        services.register(Client, ip="10.0.0.2", port=2, name="second")

    on_another_connection(terminate)
    assert {entry["name"] for entry in json.loads(services.live_json(Client)).values()} == {"first", "second"}
    assert notified_map("default").connection.info.backend_pid != listening


def test_heartbeats_commit_without_waiting_for_the_flush_and_nothing_else_does(register):
    register(name="beating")
    services.live_json(Client)
    listening = notified_map("default").connection
    assert listening.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # Django's connections: chat messages, registrations


def test_an_idle_process_reads_what_it_is_told_without_a_request(register):
    register(name="first")
    services.live_json(Client)  # the map is read; then no request comes
    kept = notified_map("default")
    on_another_connection(lambda: services.register(Client, ip="10.0.0.2", port=2, name="told"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with kept.lock:
            entries = list(kept.tables[Client._meta.db_table].entries.values())
        if any('"told"' in entry for entry in entries):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the idle process's map never learned of the registration")
