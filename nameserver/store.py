"""The name server's hot path in SQL on the database driver's cursor, and the live map kept between requests.

Every live client heartbeats once a second, and each heartbeat answers the whole live
map, so these run on nearly every request. Through the ORM, compiling the two queries
cost more than the request's other work together (see chatsite/sql.py).

On SQLite each connection also keeps the map it last read, and reads it again only when
the database says it may have changed: `PRAGMA data_version` moves when another
connection commits, `total_changes` when this one writes. A heartbeat applies its own
row to the kept map. On the 2-core VM this took reading 100 clients from 48 µs to 12.
"""

import datetime
import functools
import threading

from django.db import connections
from django.utils import timezone

from chatsite.sql import driver_cursor, statement

# On PostgreSQL a heartbeat's own transaction commits without waiting for the WAL flush.
# Waiting cost ~1.5 ms a heartbeat, and one batch of requests runs at a time, so it capped
# the name server at ~600 heartbeats a second. A heartbeat lost in a crash only makes its
# client look a moment older; the commit is still atomic and visible at once, and
# `is_local` keeps every other write of the connection durable.
ASYNCHRONOUS_COMMIT = {"postgresql": " AND set_config('synchronous_commit', 'off', true) IS NOT NULL"}


@functools.cache
def statements(model, using):
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
        "all": statement(connection, model, "SELECT {id}, {connected}, {entry} FROM {table} ORDER BY {connected}"),
        "live": statement(
            connection, model, "SELECT {entry} FROM {table} WHERE {connected} >= %s ORDER BY {connected}"
        ),
    }


class KeptMap:
    """Every row of one registry one SQLite connection has seen: id → (connected, entry), oldest first."""

    def __init__(self, driver_connection):
        self.driver_connection = driver_connection
        self.rows = {}
        self.data_version = None
        self.changes = None

    def is_current(self, cursor):
        """Whether nobody, this connection included, has written since the map was read."""
        (data_version,) = cursor.execute("PRAGMA data_version").fetchone()
        return data_version == self.data_version and self.has_all_own_writes()

    def read(self, cursor, sql):
        self.rows = {row[0]: row[1:] for row in cursor.execute(sql).fetchall()}
        (self.data_version,) = cursor.execute("PRAGMA data_version").fetchone()
        self.changes = self.driver_connection.total_changes

    def has_all_own_writes(self):
        return self.changes == self.driver_connection.total_changes

    def apply(self, key, connected, entry):
        """Our own heartbeat, written just now."""
        self.rows.pop(key, None)
        self.rows[key] = (naive_utc(connected), entry)
        self.changes = self.driver_connection.total_changes

    def live_entries(self, cutoff):
        cutoff = naive_utc(cutoff)
        return [entry for connected, entry in self.rows.values() if connected >= cutoff]


def naive_utc(moment):
    """A datetime as Django's SQLite driver returns a stored one."""
    return timezone.make_naive(moment, datetime.UTC)


kept = threading.local()


def kept_map(model, using):
    """This thread's KeptMap of `model` on `using`, on SQLite outside transactions (a rollback would not show)."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    driver_connection = connection.connection
    maps = kept.__dict__.setdefault(using, {})
    current = maps.get(model)
    if current is None or current.driver_connection is not driver_connection:
        current = maps[model] = KeptMap(driver_connection)
    return current


def heartbeat(model, key, now, cutoff, entry_tail, using="default"):
    """Set `connected` to `now` if the row is live at `cutoff`; True when it was."""
    connection = connections[using]
    key = model._meta.pk.get_db_prep_value(key, connection)
    values = (
        connection.ops.adapt_datetimefield_value(now),
        entry_tail,
        key,
        connection.ops.adapt_datetimefield_value(cutoff),
    )
    with driver_cursor(using) as cursor:
        kept_now = kept_map(model, using)
        # Applied to the kept map only if it held every earlier write of this connection.
        in_step = kept_now is not None and kept_now.has_all_own_writes()
        row = cursor.execute(statements(model, using)["heartbeat"], values).fetchone()
        if row is not None and in_step:
            kept_now.apply(key, now, row[0])
    return row is not None


def live_entries(model, cutoff, using="default"):
    """The stored JSON member of every row connected at or after `cutoff`."""
    connection = connections[using]
    with driver_cursor(using) as cursor:
        kept_now = kept_map(model, using)
        if kept_now is None:
            live = cursor.execute(statements(model, using)["live"], (connection.ops.adapt_datetimefield_value(cutoff),))
            return [entry for (entry,) in live.fetchall()]
        if not kept_now.is_current(cursor):
            kept_now.read(cursor, statements(model, using)["all"])
        return kept_now.live_entries(cutoff)
