"""Each process keeps the live map between requests (SQLite: each connection; PostgreSQL: the notified
map): it must never show a stale one."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from chatsite.core.sql import driver_cursor
from chatsite.server.handlers import DjangoHandlers
from chatsite.server.wsgi_bridge import WSGIBridge
from nameserver import services, store
from nameserver.models import Client
from tests.support import http_scope, sql_statements

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as in the server: the map is kept only there
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's kept map (PRAGMA data_version)")


def on_another_connection(work):
    """Run `work` on another thread, so on another database connection, as another process would."""
    errors = []

    def run():
        try:
            work()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not errors, errors


def live(api):
    response = api.get("/clients")
    assert response.status_code == 200
    return response.json()


def test_a_client_registered_elsewhere_shows_at_once(api, register):
    first = register(name="first")
    assert set(live(api)) == {first}
    on_another_connection(lambda: services.register(Client, ip="10.0.0.2", port=2, name="second"))
    assert {entry["name"] for entry in live(api).values()} == {"first", "second"}


def test_a_heartbeat_elsewhere_shows_its_new_time(api, register, clock):
    client_id = register()
    before = live(api)[client_id]["connected"]
    clock.advance(2)
    on_another_connection(lambda: services.heartbeat(Client, client_id))
    assert live(api)[client_id]["connected"] != before
    assert live(api)[client_id]["connected"] == clock().isoformat(timespec="microseconds")


def test_a_write_on_this_connection_outside_the_hot_path_shows(api, register):
    keep, drop = register(name="keep"), register(name="drop")
    assert set(live(api)) == {keep, drop}
    Client.objects.filter(id=drop).delete()  # as the admin would, on the same thread's connection
    assert set(live(api)) == {keep}


def test_a_heartbeat_answers_with_its_own_new_time(api, register, clock):
    client_id, other = register(name="beating"), register(name="other")
    live(api)
    clock.advance(1)
    answer = api.patch("/client", {"id": client_id}, format="json").json()
    assert answer[client_id]["connected"] == clock().isoformat(timespec="microseconds")
    assert set(answer) == {client_id, other}


def test_a_client_drops_out_when_it_expires_with_nothing_written(api, register, clock, settings):
    settings.NAMESERVER_TTL = 5
    old = register(name="old")
    clock.advance(3)
    young = register(name="young")
    assert set(live(api)) == {old, young}
    clock.advance(2)
    assert set(live(api)) == {old, young}  # live exactly at the TTL
    clock.advance(timedelta(microseconds=1).total_seconds())
    assert set(live(api)) == {young}


@sqlite_only
def test_the_map_is_read_again_only_after_a_write(api, register):
    client_id = register()
    live(api)
    with sql_statements() as unchanged:
        live(api)
    services.heartbeat(Client, client_id)
    on_another_connection(lambda: services.register(Client, ip="10.0.0.2", port=2, name="second"))
    with sql_statements() as changed:
        live(api)
    assert unchanged == ["PRAGMA data_version"]
    assert [sql.split()[0] for sql in changed] == ["PRAGMA", "PRAGMA", "SELECT"]


@sqlite_only
def test_one_request_cycle_asks_once_whether_others_wrote(register):
    # The WSGI bridge runs a batch of requests in one cycle; all of them had arrived when it began.
    register()
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    get_clients = http_scope("/clients")
    with handlers.batch(), sql_statements() as statements:
        assert [bridge.respond(get_clients, b"")[0] for _ in range(3)] == [200, 200, 200]
    assert [sql.split()[0] for sql in statements] == ["PRAGMA", "PRAGMA", "SELECT"]  # the first read only
    services.live_json(Client)  # the cycle's end closed the connection: a new map
    with sql_statements() as outside_a_cycle:
        for _ in range(2):
            services.live_json(Client)
    assert outside_a_cycle == ["PRAGMA data_version"] * 2


def test_a_heartbeat_stamped_before_the_newest_row_still_expires_in_time(register, clock, settings):
    # The wall clock may step back: the kept map is then no longer oldest first.
    settings.NAMESERVER_TTL = 5
    early = register(name="early")
    clock.advance(3)
    late = register(name="late")
    assert set(json.loads(services.live_json(Client))) == {early, late}  # read into this connection's map
    clock.advance(-2)
    assert services.heartbeat(Client, early) is not None  # stamped 2 s before `late`
    clock.advance(5.5)  # `early` is past the TTL, `late` is not
    assert set(json.loads(services.live_json(Client))) == {late}


def test_a_heartbeat_answers_with_clients_registered_and_deleted_elsewhere(api, register):
    beating, doomed = register(name="beating"), register(name="doomed")
    assert set(api.patch("/client", {"id": beating}, format="json").json()) == {beating, doomed}
    on_another_connection(lambda: services.register(Client, ip="10.0.0.2", port=2, name="newcomer"))
    on_another_connection(lambda: Client.objects.filter(id=doomed).delete())
    answer = api.patch("/client", {"id": beating}, format="json").json()
    assert {entry["name"] for entry in answer.values()} == {"beating", "newcomer"}


def test_a_registration_shows_in_a_list_later_in_the_same_batch(register):
    register(name="first")
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    body = json.dumps({"ip": "10.0.0.2", "port": 2, "name": "second"}).encode()
    post_client = {
        **http_scope("/client"),
        "method": "POST",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
    }
    with handlers.batch():
        listed_before = json.loads(bridge.respond(http_scope("/clients"), b"")[2])
        assert bridge.respond(post_client, body)[0] == 201
        listed_after = json.loads(bridge.respond(http_scope("/clients"), b"")[2])
    assert {entry["name"] for entry in listed_before.values()} == {"first"}
    assert {entry["name"] for entry in listed_after.values()} == {"first", "second"}


class CommitElsewhereAfterTheSelect:
    """A driver cursor that lets another connection commit just after its first SELECT has read its rows."""

    def __init__(self, cursor, commit):
        self.cursor, self.commit = cursor, commit

    def execute(self, sql, *args):
        result = self.cursor.execute(sql, *args)
        if self.commit is not None and sql.lstrip().upper().startswith("SELECT"):
            rows = result.fetchall()
            on_another_connection(self.commit)
            self.commit = None
            return FetchedRows(rows)
        return result


class FetchedRows:
    def __init__(self, rows):
        self.rows = rows

    def fetchall(self):
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


@sqlite_only
def test_a_commit_elsewhere_while_the_map_is_read_shows_at_the_next_read(register):
    register(name="first")
    with driver_cursor(connection) as cursor:
        racing = CommitElsewhereAfterTheSelect(
            cursor, lambda: services.register(Client, ip="10.0.0.2", port=2, name="second")
        )
        kept = store.up_to_date_map(racing, Client, connection)
        assert names(services.live_document(kept.rows.entries.values())) == {"first"}  # read before the commit
    assert names(services.live_json(Client)) == {"first", "second"}


def names(document):
    return {entry["name"] for entry in json.loads(document).values()}
