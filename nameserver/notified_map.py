"""The live map on PostgreSQL, kept in each process from the registry tables' notifications.

A trigger (migration 0005) sends every committed change of a registry row on a channel
named after its table: `+ <id> <connected in µs> <entry>` for an insert or update,
`- <id>` for a delete, `*` for a truncate. Each process holds one connection of its own
that listens on those channels, keeps every row it has been told of, and answers from
memory. Several workers and nodes so see one registry, each learning of the others'
writes without reading the table again.

Every commit that finished before a request cycle began shows in that cycle: PostgreSQL
signals the listeners while the writer commits, and delivers their notifications before
it answers the listener's next statement. So one round trip on the listening connection
per cycle is all a cycle needs (nameserver/cycles.py; outside a cycle every read looks).

The heartbeats of a cycle are written together when it ends, in one statement, before
any of their answers leaves (the WSGI bridge sends a batch's answers after its cycle):
a round trip per heartbeat, with one batch at a time, would bound the heartbeats a
process answers by PostgreSQL's latency. Whether the client is live is known from the
map, as of the cycle's start; the write keeps the condition, so a heartbeat never
resurrects a row the pruner deleted meanwhile (that heartbeat is then lost, and logged,
as if it had come a moment later).

The listening connection is the process's and is never handed to Django; a lock keeps it
to one thread at a time. A thread makes a round trip on it once a second while no
request does, so that an idle process does not leave notifications piling up in its
socket (and PostgreSQL's queue).
"""

import contextlib
import logging
import threading
import time

import psycopg
from django.conf import settings
from django.db import DatabaseError, connections

from nameserver import cycles
from nameserver.kept_rows import KeptRows

log = logging.getLogger(__name__)

DRAIN_EVERY = 1.0  # seconds


class NotifiedMap:
    """The rows of every registry table of one database, as this process's listening connection learns them."""

    def __init__(self, alias):
        self.alias = alias
        self.lock = threading.Lock()
        self.connection = None  # psycopg's, of our own
        self.tables = {}  # channel (the table's name) → KeptRows
        self.unwritten = {}  # statement → {key: parameters} of heartbeats answered but not yet written
        self.pending = None  # notifications held back while a table is read whole
        self.synced_in = None  # the request cycle in which the connection last answered
        self.used_at = 0.0  # time.monotonic() of the last request that used the connection
        self.drainer = None

    def live_entries(self, table, cutoff):
        """The entry of every row of `table` (its statements: nameserver.store.statements) connected at
        or after `cutoff` (µs), current as of this request cycle."""
        with self.using_connection():
            return self.synced(table).live_entries(cutoff)

    def heartbeat(self, table, key, connected, cutoff, entry_tail, write):
        """Mark the row `key` connected at `connected` (µs) if it is live at `cutoff`; then `live_entries`,
        or None when it was not live. `write` holds the parameters of the statement that stores it."""
        with self.using_connection():
            rows = self.synced(table)
            if not rows.is_live(key, cutoff):
                return None
            rows.beat(key, connected, entry_tail)
            self.unwritten.setdefault(table["heartbeats"], {})[key] = write
            if cycles.current() is None:
                self.write_heartbeats()
            return rows.live_entries(cutoff)

    def end_cycle(self):
        """Write the cycle's heartbeats (if the write fails they are lost, as in a crash)."""
        if self.unwritten:
            try:
                with self.using_connection():
                    self.write_heartbeats()
            except DatabaseError:
                # Logged here: the batch's answers are made by now, and the bridge has no one to tell.
                log.warning("The heartbeats of a request cycle were not stored", exc_info=True)

    @contextlib.contextmanager
    def using_connection(self):
        """The lock, with errors as Django's; a connection that failed is opened again next time."""
        with self.lock, connections[self.alias].wrap_database_errors:
            self.used_at = time.monotonic()
            try:
                if self.connection is None or self.connection.closed:
                    self.open()
                yield
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self.close()
                raise

    # Under self.lock, every method below.

    def synced(self, table):
        """The table's rows, with every commit before this request cycle applied."""
        try:
            return self.looked(table)
        except psycopg.OperationalError:
            # A connection lost while the process was idle (a restarted server): once more, on a new one.
            self.open()
            return self.looked(table)

    def looked(self, table):
        if table["channel"] not in self.tables:
            self.read(table)
        elif self.synced_in is None or self.synced_in is not cycles.current():
            self.connection.execute("SELECT 1")  # PostgreSQL sends what it owes us before it answers
            self.synced_in = cycles.current()
        return self.tables[table["channel"]]

    def write_heartbeats(self):
        unwritten, self.unwritten = self.unwritten, {}  # if the write fails they are lost, as in a crash
        for statement, writes in unwritten.items():
            columns = [list(column) for column in zip(*writes.values(), strict=True)]
            written = {key for (key,) in self.connection.execute(statement, columns, prepare=True)}
            for key in writes.keys() - written:
                log.warning("The heartbeat of %s was not stored: the row expired and was pruned meanwhile", key)

    def open(self):
        django_connection = connections[self.alias]
        self.close()
        self.connection = django_connection.get_new_connection(django_connection.get_connection_params())
        self.connection.autocommit = True
        # Parameters bound server-side (Django binds them client-side), and statements prepared
        # at their first use, as the hot paths' are, unless DATABASE_PREPARED_STATEMENTS is off.
        # psycopg is this connection's only user, so its own preparing is the one used here
        # (Django turns it off: prepare_threshold None).
        self.connection.cursor_factory = psycopg.Cursor
        self.connection.prepare_threshold = 0 if settings.DATABASE_PREPARED_STATEMENTS else None
        # This connection writes only heartbeats. A heartbeat lost in a crash only makes its
        # client look a moment older; the commit is still atomic and visible at once.
        self.connection.execute("SET synchronous_commit = off")
        self.connection.add_notify_handler(self.notified)
        if self.drainer is None:
            self.drainer = threading.Thread(target=self.drain, name="nameserver-notifications", daemon=True)
            self.drainer.start()

    def read(self, table):
        """Listen to the table, then read it whole; what is told meanwhile is applied after."""
        self.connection.execute(table["listen"])
        self.pending = []
        try:
            rows = self.connection.execute(table["notified all"]).fetchall()
            self.tables[table["channel"]] = KeptRows(rows)
            pending, self.pending = self.pending, None
            for notify in pending:
                self.notified(notify)
        finally:
            self.pending = None
        self.synced_in = cycles.current()

    def notified(self, notify):
        if self.pending is not None:
            self.pending.append(notify)
            return
        rows = self.tables.get(notify.channel)
        if rows is None:
            return
        change = notify.payload
        if change.startswith("+"):
            _, key, connected, entry = change.split(" ", 3)
            rows.put(key, int(connected), entry)
        elif change.startswith("-"):
            rows.remove(change[2:])
        else:  # a truncate: nothing is left
            self.tables[notify.channel] = KeptRows()

    def close(self):
        if self.connection is not None and not self.connection.closed:
            self.connection.close()
        self.connection = None
        self.tables = {}

    def drain(self):
        """Once a second, if no request has used the connection meanwhile, a round trip that reads
        what PostgreSQL has sent since."""
        stopped = threading.Event()
        while not stopped.wait(DRAIN_EVERY):
            if time.monotonic() - self.used_at < DRAIN_EVERY or not self.lock.acquire(blocking=False):
                continue  # requests read it
            try:
                if self.connection is not None and not self.connection.closed:
                    self.connection.execute("SELECT 1")
            except Exception:
                log.warning("The name server's listening connection failed; it is opened again", exc_info=True)
                self.close()
            finally:
                self.lock.release()


maps = {}
maps_lock = threading.Lock()


def notified_map(alias):
    """This process's NotifiedMap of the database `alias`."""
    with maps_lock:
        if alias not in maps:
            maps[alias] = NotifiedMap(alias)
        return maps[alias]


def written(**kwargs):
    """post_save of a registry row in this process: the next read looks, even in this cycle."""
    for kept in list(maps.values()):
        kept.synced_in = None


def end_cycle(**kwargs):
    """request_finished: write the heartbeats this thread's cycle answered."""
    for kept in list(maps.values()):
        kept.end_cycle()


def close_all():
    """Close every listening connection (before a test database is dropped, say)."""
    for kept in list(maps.values()):
        with kept.lock:
            kept.close()
