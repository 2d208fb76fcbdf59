"""On PostgreSQL each process keeps the live map from the registry's notifications
(the heartbeats of a cycle, written together: test_cycle_writes.py)."""

import json
import time

import pytest
from django.db import connection

from nameserver import services
from nameserver.models import Client
from nameserver.notified_map import notified_map
from tests.nameserver.test_kept_map import on_another_connection

pytestmark = [
    pytest.mark.django_db(transaction=True),  # autocommit, as in the server: the map is kept only there
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the notified map is PostgreSQL's"),
]


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


@pytest.mark.parametrize("switch", [True, False])
def test_the_listening_connection_prepares_as_database_prepared_statements_says(register, settings, switch):
    settings.DATABASE_PREPARED_STATEMENTS = switch
    notified_map("default").open()
    listening = notified_map("default").connection
    register(name="beating")
    client = Client.objects.get(name="beating")
    services.heartbeat(Client, client.id)
    services.live_json(Client)
    prepared = listening.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    if switch:
        assert [text for (text,) in prepared if text.startswith("UPDATE")], "the heartbeat write, at once"
    else:
        assert prepared == []


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
