"""The heartbeats of a request cycle are written together when it ends, before any answer leaves
(nameserver/store.py on SQLite, nameserver/notified_map.py on PostgreSQL)."""

import json
import logging
import sqlite3
import threading

import pytest
from django.db import connection

from chatsite.server.handlers import DjangoHandlers
from chatsite.server.wsgi_bridge import WSGIBridge
from nameserver import services
from nameserver.models import Client
from nameserver.notified_map import notified_map
from tests.nameserver.test_kept_map import on_another_connection
from tests.support import http_scope

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as in the server: the maps are kept only there
LOGGERS = ("nameserver.store", "nameserver.notified_map")


@pytest.fixture
def bridge():
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    bridge.cycle = handlers.batch
    return bridge


@pytest.fixture
def kept_connections():
    """Django keeps the connection between cycles, as the server does (CONN_MAX_AGE; the tests' is 0)."""
    connection.settings_dict["CONN_MAX_AGE"] = None
    connection.close()
    yield
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()


@pytest.fixture
def warnings(caplog):
    with caplog.at_level(logging.WARNING):
        yield caplog


def heartbeat(bridge, client_id):
    scope = {
        **http_scope("/client"),
        "method": "PATCH",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
    }
    status, _, body = bridge.respond(scope, json.dumps({"id": client_id}).encode())
    return status, json.loads(body)


def stored_rows():
    """Every row as another connection reads it from the table: id → (connected, entry)."""
    seen = {}
    on_another_connection(lambda: seen.update((str(c.id), (c.connected, c.entry)) for c in Client.objects.all()))
    return seen


def stored_connected(client_id):
    row = stored_rows().get(client_id)
    return row and row[0]


@pytest.mark.parametrize("connections_kept", [False, True], ids=["closed at the cycle's end", "kept"])
def test_the_heartbeats_of_a_cycle_are_written_together_when_it_ends(
    request, bridge, register, clock, connections_kept
):
    if connections_kept:
        request.getfixturevalue("kept_connections")
    ids = [register(name=f"client {n}") for n in range(3)]
    before = stored_rows()
    clock.advance(1)
    with bridge.cycle():
        answers = [heartbeat(bridge, client_id) for client_id in ids]
        assert stored_rows() == before  # not yet
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[-1][1][ids[0]]["connected"] == clock().isoformat(timespec="microseconds")
    stored = stored_rows()
    assert all(stored[client_id][0] == clock() for client_id in ids)
    # What the next cycle answers from the map is what the table holds.
    listed = json.loads(services.live_json(Client))
    assert {key: json.loads("{" + entry + "}")[key] for key, (_, entry) in stored.items()} == listed


def test_a_heartbeat_pruned_before_its_cycle_ends_is_not_stored(bridge, register, warnings):
    client_id = register(name="doomed")
    with bridge.cycle():
        assert heartbeat(bridge, client_id)[0] == 200
        on_another_connection(lambda: Client.objects.filter(id=client_id).delete())
    assert stored_connected(client_id) is None  # not resurrected
    assert f"The heartbeat of {client_id.replace('-', '')}" in warnings.text.replace("-", "")
    assert json.loads(services.live_json(Client)) == {}


def test_an_unknown_client_is_refused_and_nothing_is_written(bridge, register, clock):
    register(name="known")
    before = stored_rows()
    clock.advance(1)
    with bridge.cycle():
        status, answer = heartbeat(bridge, "0b7e3a62-5f2c-4c43-9b7e-2f4b1a0c9d11")
    assert status == 404
    assert "unknown or expired" in answer["error"]
    assert stored_rows() == before


def test_heartbeats_whose_write_fails_are_logged_and_the_map_shows_what_is_stored(
    bridge, register, clock, warnings, kept_connections
):
    client_id = register(name="beating")
    services.live_json(Client)  # the map is read
    before = stored_connected(client_id)
    clock.advance(1)
    with holding_the_table_locked(), bridge.cycle():
        assert heartbeat(bridge, client_id)[0] == 200
    assert "The heartbeats of a request cycle were not stored" in warnings.text
    assert stored_connected(client_id) == before
    listed = json.loads(services.live_json(Client))
    assert listed[client_id]["connected"] == before.isoformat(timespec="microseconds")


class holding_the_table_locked:
    """Another connection holds the write lock of the registry while the cycle ends, so its
    write gives up at once instead of after DATABASE_LOCK_TIMEOUT."""

    def __enter__(self):
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=on_another_connection, args=(self.hold,))
        self.thread.start()
        self.locked.wait(10)
        self.restore = wait_briefly_for_locks()
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        self.thread.join()
        self.restore()

    def hold(self):
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            else:
                cursor.execute("BEGIN")
                cursor.execute(f"LOCK TABLE {Client._meta.db_table} IN EXCLUSIVE MODE")
            self.locked.set()
            self.release.wait(10)
            cursor.execute("ROLLBACK")


def wait_briefly_for_locks():
    """Make the connection that writes the heartbeats wait 50 ms for a lock; returns what undoes it."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        driver = connection.connection
        driver.execute("PRAGMA busy_timeout = 50")
        return lambda: None if connection.connection is not driver else driver.execute("PRAGMA busy_timeout = 5000")
    listening = notified_map("default").connection
    listening.execute("SET lock_timeout = 50")
    return lambda: None if listening.closed else listening.execute("RESET lock_timeout")


assert sqlite3  # the driver whose busy timeout the SQLite case sets


def test_a_heartbeat_then_a_registration_in_one_cycle_both_show(bridge, register, clock, kept_connections):
    # The registration makes the map be read again in the same cycle: the heartbeat not yet
    # written must not be lost from it, in this cycle or the next.
    beating = register(name="beating")
    services.live_json(Client)
    clock.advance(1)
    post_client = {
        **http_scope("/client"),
        "method": "POST",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
    }
    registration = json.dumps({"ip": "10.0.0.2", "port": 2, "name": "newcomer"}).encode()
    with bridge.cycle():
        assert heartbeat(bridge, beating)[0] == 200
        assert bridge.respond(post_client, registration)[0] == 201
        in_the_cycle = json.loads(bridge.respond(http_scope("/clients"), b"")[2])
    after = json.loads(services.live_json(Client))
    for listed in (in_the_cycle, after):
        assert {entry["name"] for entry in listed.values()} == {"beating", "newcomer"}
        assert listed[beating]["connected"] == clock().isoformat(timespec="microseconds")
    assert stored_connected(beating) == clock()
