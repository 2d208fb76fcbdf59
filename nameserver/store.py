"""The name server's hot path in SQL on the database driver's cursor, and the live map kept between requests.

Every live client heartbeats once a second, and each heartbeat answers the whole live
map, so these run on nearly every request. Through the ORM, compiling the two queries
cost more than the request's other work together (chatsite/core/sql.py).

Each process keeps the map between requests and reads the table again only when it may
have changed:
- SQLite: each connection keeps the map it last read; `PRAGMA data_version` moves when
  another connection commits, `total_changes` when this one writes, and a heartbeat
  applies its own row to the map.
- PostgreSQL: a trigger notifies every change, and one listening connection per process
  applies them (nameserver/notified_map.py).
Other writers' commits are looked for once per request cycle (nameserver/cycles.py).
On both, the heartbeats of a request cycle are written together when it ends, before
any of their answers leaves (the WSGI bridge sends a batch's answers after its cycle):
one transaction for the batch instead of a commit each. Whether the client is live is
known from the map, as of the cycle; the write keeps the condition, so a heartbeat never
resurrects a row the pruner deleted meanwhile (that heartbeat is then lost, and logged,
as if it had come a moment later).
Inside a transaction (a test's, say) neither map is used: a rollback would not show.
bench/README.md ("HTTP") has the figures.
"""

import functools
import logging
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from chatsite.core.sql import driver_cursor, statement
from nameserver import cycles
from nameserver.kept_rows import KeptRows
from nameserver.models import Registration
from nameserver.notified_map import notified_map

log = logging.getLogger(__name__)

# On PostgreSQL a heartbeat's own transaction commits without waiting for the WAL flush:
# one batch of requests runs at a time, so waiting would cap the heartbeats a process
# answers. A heartbeat lost in a crash only makes its client look a moment older; the
# commit is still atomic and visible at once, and `is_local` keeps every other write of
# the connection durable.
ASYNCHRONOUS_COMMIT = {"postgresql": " AND set_config('synchronous_commit', 'off', true) IS NOT NULL"}


@functools.cache
def statements(model: type[Registration], using: str) -> dict[str, str]:
    connection = connections[using]
    return {
        # Only a live client is touched, so a heartbeat racing the pruner never resurrects one.
        "heartbeat": statement(
            connection,
            model,
            "UPDATE {table} SET {connected} = %s, {entry} = {entry_head} || %s WHERE {id} = %s AND {connected} >= %s"
            + ASYNCHRONOUS_COMMIT.get(connection.vendor, "")
            + " RETURNING {entry}",
        ),
        # PostgreSQL's notified map (nameserver/notified_map.py): its channel, its whole read
        # (`connected` in µs, as the trigger of migration 0005 sends it), and the heartbeats of
        # a request cycle, written together.
        "channel": model._meta.db_table,  # what the trigger names (TG_TABLE_NAME)
        "listen": statement(connection, model, "LISTEN {table}"),
        "notified all": statement(
            connection,
            model,
            "SELECT {id}::text, (extract(epoch FROM {connected}) * 1000000)::bigint, {entry} FROM {table}"
            " ORDER BY {connected}",
        ),
        "heartbeats": statement(
            connection,
            model,
            "UPDATE {table} SET {connected} = beat.connected, {entry} = {entry_head} || beat.tail"
            " FROM unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::timestamptz[])"
            " AS beat(id, connected, tail, cutoff)"
            " WHERE {table}.{id} = beat.id AND {table}.{connected} >= beat.cutoff RETURNING {table}.{id}::text",
        ),
        # `connected` as SQLite stores it, text, which compares as the WHERE clauses above do.
        "all": statement(
            connection, model, "SELECT {id}, CAST({connected} AS TEXT), {entry} FROM {table} ORDER BY {connected}"
        ),
        "live": statement(
            connection, model, "SELECT {entry} FROM {table} WHERE {connected} >= %s ORDER BY {connected}"
        ),
    }


class KeptMap:
    """The rows of one registry one SQLite connection has seen, and whether it may have missed a write."""

    def __init__(self, driver_connection: sqlite3.Connection, heartbeat_sql: str) -> None:
        self.driver_connection = driver_connection
        self.heartbeat_sql = heartbeat_sql
        self.unwritten = {}  # key → the heartbeat statement's parameters, answered in this cycle but not written
        self.rows = KeptRows()
        self.data_version = None
        self.changes = None
        self.checked_in = None  # the request cycle in which data_version was last read

    def is_current(self, cursor: sqlite3.Cursor) -> bool:
        """Whether nobody, this connection included, has written since the map was read
        (others looked for once per request cycle)."""
        cycle = cycles.current()
        if cycle is None or cycle is not self.checked_in:
            (data_version,) = cursor.execute("PRAGMA data_version").fetchone()
            if data_version != self.data_version:
                return False
            self.checked_in = cycle
        return self.changes == self.driver_connection.total_changes

    def read(self, cursor: sqlite3.Cursor, sql: str) -> None:
        # The version first: another connection's commit between the two statements then
        # shows as a change at the next look. Read after the rows, it would pass for one
        # the rows include, and the map would miss it until someone wrote again.
        (self.data_version,) = cursor.execute("PRAGMA data_version").fetchone()
        self.rows = KeptRows(cursor.execute(sql).fetchall())
        self.changes = self.driver_connection.total_changes
        self.checked_in = cycles.current()

    def apply(self, key: str, connected: str, entry: str) -> None:
        """Our own heartbeat, written just now."""
        self.rows.put(key, connected, entry)
        self.changes = self.driver_connection.total_changes

    def beat(self, key: str, write: tuple) -> bool:
        """Our own heartbeat in this cycle, if the row is live: applied now, written when the cycle ends."""
        connected, entry_tail, _, cutoff = write
        if not self.rows.is_live(key, cutoff):
            return False
        self.rows.beat(key, connected, entry_tail)
        self.unwritten[key] = write
        return True

    def write(self, cursor: sqlite3.Cursor) -> None:
        """The cycle's heartbeats, in one transaction (if it fails they are lost, as in a crash)."""
        unwritten, self.unwritten = self.unwritten, {}
        if not unwritten:
            return
        try:
            cursor.execute("BEGIN IMMEDIATE")  # as Django's transactions here (settings.DATABASES)
            stored = [cursor.execute(self.heartbeat_sql, write).fetchone() for write in unwritten.values()]
            cursor.execute("COMMIT")
        except BaseException:
            self.data_version = None  # the map holds heartbeats the table does not: read it again
            if cursor.connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        if cursor.connection is self.driver_connection:  # not one Django opened again meanwhile
            self.changes = self.driver_connection.total_changes
        for key in (key for key, row in zip(unwritten, stored, strict=True) if row is None):
            log.warning("The heartbeat of %s was not stored: the row expired and was pruned meanwhile", key)


kept = threading.local()


def kept_map(model: type[Registration], connection: BaseDatabaseWrapper) -> KeptMap | None:
    """This thread's KeptMap of `model` on `connection`, on SQLite outside transactions (a rollback would not show)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    driver_connection = connection.connection
    maps = kept.__dict__.setdefault(connection.alias, {})
    current = maps.get(model)
    if current is None or current.driver_connection is not driver_connection:
        current = maps[model] = KeptMap(driver_connection, statements(model, connection.alias)["heartbeat"])
    return current


def end_cycle(**kwargs: Any) -> None:
    """request_finished: write the heartbeats this thread's cycle answered from its SQLite maps.

    Django's own receiver may have closed the connection just before (CONN_MAX_AGE): the
    write then opens it again, and the map of the closed one is dropped at its next use.
    """
    for alias, maps in kept.__dict__.items():
        for current in maps.values():
            if not current.unwritten:
                continue
            try:
                with driver_cursor(connections[alias]) as cursor:
                    current.write(cursor)
            except DatabaseError:
                log.warning("The heartbeats of a request cycle were not stored", exc_info=True)


def heartbeat(
    model: type[Registration], key: uuid.UUID, now: datetime, cutoff: datetime, entry_tail: str, using: str = "default"
) -> list[str] | None:
    """Set `connected` to `now` if the row is live at `cutoff`; then every live entry, as
    `live_entries` gives them, or None when the row was not live."""
    connection = connections[using]
    stored_now, stored_cutoff = stored(connection, now), stored(connection, cutoff)
    key = model._meta.pk.get_db_prep_value(key, connection)
    if is_notified(connection):
        table = statements(model, using)
        write = (key, stored_now, entry_tail, stored_cutoff)
        return notified_map(using).heartbeat(
            table, str(key), microseconds(now), microseconds(cutoff), entry_tail, write
        )
    write = (stored_now, entry_tail, key, stored_cutoff)
    with driver_cursor(connection) as cursor:
        kept_now = up_to_date_map(cursor, model, connection)  # so the write below is all it lacks
        if kept_now is not None and cycles.current() is not None:
            return kept_now.rows.live_entries(stored_cutoff) if kept_now.beat(key, write) else None
        row = cursor.execute(statements(model, using)["heartbeat"], write).fetchone()
        if row is None:
            return None
        if kept_now is None:
            return live_rows(cursor, model, connection, stored_cutoff)
        kept_now.apply(key, stored_now, row[0])
        return kept_now.rows.live_entries(stored_cutoff)


def live_entries(model: type[Registration], cutoff: datetime, using: str = "default") -> list[str]:
    """The stored JSON member of every row connected at or after `cutoff`."""
    connection = connections[using]
    if is_notified(connection):
        return notified_map(using).live_entries(statements(model, using), microseconds(cutoff))
    stored_cutoff = stored(connection, cutoff)
    with driver_cursor(connection) as cursor:
        kept_now = up_to_date_map(cursor, model, connection)
        if kept_now is None:
            return live_rows(cursor, model, connection, stored_cutoff)
        return kept_now.rows.live_entries(stored_cutoff)


def up_to_date_map(cursor: Any, model: type[Registration], connection: BaseDatabaseWrapper) -> KeptMap | None:
    """`kept_map`, read again if it may be stale."""
    kept_now = kept_map(model, connection)
    if kept_now is not None and not kept_now.is_current(cursor):
        kept_now.write(cursor)  # so the rows read hold this cycle's heartbeats
        kept_now.read(cursor, statements(model, connection.alias)["all"])
    return kept_now


def live_rows(cursor: Any, model: type[Registration], connection: BaseDatabaseWrapper, stored_cutoff: Any) -> list[str]:
    """`live_entries` read from the table."""
    sql = statements(model, connection.alias)["live"]
    return [entry for (entry,) in cursor.execute(sql, (stored_cutoff,)).fetchall()]


def stored(connection: BaseDatabaseWrapper, moment: datetime) -> Any:
    """A datetime as the database driver takes it for `connected`."""
    return connection.ops.adapt_datetimefield_value(moment)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def microseconds(moment: datetime) -> int:
    """A datetime as the notified map keeps `connected`: microseconds since the epoch, exactly."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def is_notified(connection: BaseDatabaseWrapper) -> bool:
    """Whether `connection`'s reads go through the notified map: PostgreSQL, outside transactions."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block
