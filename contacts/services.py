"""Every read and write of a replica's contacts: plain functions, run off the event loop.

Users, contact names and phones are bytes throughout (contacts/protocol.py). Rows are
read back through `bytes()`, because a database driver may hand a binary column back as
a memoryview (psycopg2 does), and a memoryview is neither hashable nor equal to bytes.
Nothing here changes a clock: the event loop stamps and observes (contacts/replica.py),
and these functions store what it decided.
"""

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Max
from django.utils import timezone

from chatsite.core.sql import driver_cursor, statement
from contacts.clock import LamportClock, Version, clock_limit
from contacts.models import Contact, Replica, shown
from contacts.protocol import ClientDelete, ClientUpdate, Delete, Update


@dataclass(slots=True)
class Write:
    """A write waiting to be stored: a stamped server frame, made here (`local`) or received from a peer."""

    frame: Update | Delete
    local: bool


class StaleReplica(Exception):
    """A replica that holds data but has not heard from its peers for longer than the tombstone TTL."""


class ClockPastLimit(Exception):
    """A replica whose stored clock is past the limit (a frame from before the limit was enforced put it there)."""


def open_replica(name: str, clock_lease: int) -> tuple[Replica, LamportClock]:
    """The replica called `name` (created on first start) and its clock, with `clock_lease` ticks reserved.

    The clock resumes at the saved reservation, or past the newest stored row if that is
    greater, so it is beyond every clock this replica sent before it stopped. A replica
    whose clock is past the limit is refused (ClockPastLimit): `reset_clock` repairs it.
    """
    replica, _ = Replica.objects.get_or_create(name=name)
    newest_row = replica.contacts.aggregate(newest=Max("clock"))["newest"] or 0
    start, limit = max(replica.clock, replica.clock_reserved, newest_row), clock_limit(clock_lease)
    if start > limit:
        raise ClockPastLimit(
            f"replica {name} holds clock {start}, past the largest clock it may use ({limit}, which is "
            f"2**32 - 1 - CONTACTS_CLOCK_LEASE); a frame accepted before the limit was enforced put it there. "
            f"Start it once with --reset-clock to bring its clock and newest writes back under the limit."
        )
    clock = LamportClock(start, limit=limit)
    clock.reserve(reserve_clock(replica.id, clock.next_reservation(clock_lease)))
    return replica, clock


def reset_clock(name: str, clock_lease: int) -> tuple[int, int]:
    """Bring a replica's clock back under the limit; returns (rows re-stamped, the new clock).

    Its rows stamped past the limit are stamped again, in their old order, just after the
    newest clock under it, so they still win over everything older and can be overwritten
    again. Peers learn the new clocks by AskForUpdate, and last-writer-wins merges them.
    """
    limit = clock_limit(clock_lease)
    with transaction.atomic():
        replica = Replica.objects.select_for_update().filter(name=name).first()
        if replica is None:
            return 0, 0
        rows = replica.contacts.filter(clock__gt=limit).order_by("clock", "id")
        base = replica.contacts.filter(clock__lte=limit).aggregate(newest=Max("clock"))["newest"] or 0
        base = max([base, *(value for value in (replica.clock, replica.clock_reserved) if value <= limit)])
        restamped = list(rows)
        if base + len(restamped) > limit:
            raise ClockPastLimit(f"replica {name} has {len(restamped)} rows past the limit and no room under it")
        for offset, contact in enumerate(restamped, start=1):
            contact.clock = base + offset
        Contact.objects.bulk_update(restamped, ["clock"], batch_size=500)
        clock = base + len(restamped)
        Replica.objects.filter(id=replica.id).update(clock=clock, clock_reserved=clock)
    return len(restamped), clock


def reserve_clock(replica_id: int, reserved: int) -> int:
    """Save `reserved` as the replica's clock reservation (it only grows); returns it."""
    Replica.objects.filter(id=replica_id, clock_reserved__lt=reserved).update(clock_reserved=reserved)
    return reserved


def release_clock(replica_id: int, clock: int) -> None:
    """On a clean stop, with every stamped write stored: the reservation shrinks back to the clock."""
    Replica.objects.filter(id=replica_id).update(clock=clock, clock_reserved=clock)


def stamp(user: bytes, frame: ClientUpdate | ClientDelete, clock: LamportClock) -> Update | Delete:
    """The server frame of a client's Update or Delete: the next tick of the clock on it."""
    if isinstance(frame, ClientUpdate):
        return Update(clock.tick(), user, frame.contact, frame.phone)
    return Delete(clock.tick(), user, frame.contact)


def store_writes(replica_id: int, writes: Iterable[Write], clock: int, reserved: int) -> int:
    """Store stamped writes in one transaction, with the clock and its reservation; return how many rows changed.

    For each (user, contact) the greatest version among `writes` wins; a received winner is
    stored only if it beats the stored row. A local winner always does: it was stamped past
    every clock this replica had seen, stored rows included. On failure nothing is stored
    and the caller keeps the writes to try again.
    """
    newest, received = {}, set()  # (user, contact) → frame; the keys whose winner was received
    for write in writes:
        frame = write.frame
        key = (frame.user, frame.contact)
        if write.local:
            # Stamped after the loop observed every write queued before it: it beats them all.
            newest[key] = frame
            if received:
                received.discard(key)
        elif key not in newest or Version.of_frame(frame) > Version.of_frame(newest[key]):
            newest[key] = frame
            received.add(key)  # to be checked against the stored row
    if received:
        for key, version in stored_versions(replica_id, received).items():
            if version >= Version.of_frame(newest[key]):
                del newest[key]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (replica_id, frame.user, frame.contact, b"", frame.clock, True, now)
        if isinstance(frame, Delete)
        else (replica_id, frame.user, frame.contact, frame.phone, frame.clock, False, None)
        for frame in newest.values()
    ]
    with transaction.atomic():
        if rows:
            upsert_contacts(rows)
        with driver_cursor(connection) as cursor:
            cursor.execute(statements()["save clock"], (clock, reserved, replica_id))
    return len(rows)


# --- raw SQL of the hot paths (chatsite/core/sql.py): there the ORM costs more than the query


@functools.cache
def statements(using: str = "default") -> dict[str, str]:
    """The SQL of the hot paths for the database `using`, in its driver's parameter style."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        # Where each statement is a round trip: a batch's rows in one, as a JSON array of
        # [replica, user, name, phone, clock, deleted, deleted_at], the bytes as hex (upsert_contacts).
        rows = (
            "SELECT (r->>0)::bigint, decode(r->>1, 'hex'), decode(r->>2, 'hex'), decode(r->>3, 'hex'), "
            "(r->>4)::bigint, (r->>5)::boolean, (r->>6)::timestamptz FROM json_array_elements(%s::json) AS r"
        )
    else:
        rows = "VALUES (%s, %s, %s, %s, %s, %s, %s)"  # one row, run once a row
    return {
        # INSERT … ON CONFLICT is the same on SQLite and PostgreSQL.
        "upsert": statement(
            connection,
            Contact,
            "INSERT INTO {table} ({replica}, {user}, {name}, {phone}, {clock}, {deleted}, {deleted_at}) "
            + rows
            + " ON CONFLICT ({replica}, {user}, {name}) DO UPDATE SET {phone} = excluded.{phone}, "
            "{clock} = excluded.{clock}, {deleted} = excluded.{deleted}, {deleted_at} = excluded.{deleted_at}",
        ),
        "save clock": statement(
            connection, Replica, "UPDATE {table} SET {clock} = %s, {clock_reserved} = %s WHERE {id} = %s"
        ),
        "list": statement(
            connection,
            Contact,
            "SELECT {name}, {phone} FROM {table} WHERE {replica} = %s AND {user} = %s AND {deleted} = %s "
            "ORDER BY {name}",
        ),
    }


@functools.lru_cache(maxsize=64)
def versions_statement(users: int, names: int, using: str = "default") -> str:
    """The SQL of `stored_versions` for `users` users and `names` contact names."""
    return statement(
        connections[using],
        Contact,
        "SELECT {user}, {name}, {clock}, {deleted}, {phone} FROM {table} WHERE {replica} = %s "
        f"AND {{user}} IN ({', '.join(['%s'] * users)}) AND {{name}} IN ({', '.join(['%s'] * names)})",
    )


def upsert_contacts(rows: Sequence[Sequence[Any]]) -> None:
    """Insert or overwrite (replica_id, user, name, phone, clock, deleted, deleted_at) rows.

    Raw SQL: the ORM's bulk_create costs far more a row than the statement, which would cap a
    replica's updates a second (bench/README.md, "Contacts"). On SQLite the statement runs
    once a row; on PostgreSQL, where that is a round trip a row, once for all of them, the
    rows as one JSON text: for a thousand rows `json.dumps` costs a tenth of encoding seven
    arrays in Python, and PostgreSQL reads it faster too (bench/README.md, "Contacts").
    """
    upsert = statements()["upsert"]
    with driver_cursor(connection) as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(upsert, rows)
            return
        batch = [
            (replica, user.hex(), name.hex(), phone.hex(), clock, deleted, deleted_at and deleted_at.isoformat())
            for replica, user, name, phone, clock, deleted, deleted_at in rows
        ]
        cursor.execute(upsert, (json.dumps(batch),))


def stored_versions(replica_id: int, keys: set[tuple[bytes, bytes]]) -> dict[tuple[bytes, bytes], Version]:
    """The stored version of each (user, contact) in `keys` that this replica has a row for.

    Raw SQL, like the upsert: on a peer this runs for every batch it receives, on the path
    of a change to the other replicas, where the ORM's query building costs more than the query.
    """
    users, names = sorted({user for user, _ in keys}), sorted({name for _, name in keys})
    found = {}
    for chunk in _chunks(users, 500):
        # Not prepared: the statement's text varies with the batch, which a peer fills.
        with driver_cursor(connection, prepared=False) as cursor:
            cursor.execute(versions_statement(len(chunk), len(names)), [replica_id, *chunk, *names])
            for row_user, row_name, row_clock, row_deleted, row_phone in cursor.fetchall():
                key = bytes(row_user), bytes(row_name)
                if key in keys:
                    found[key] = Version.of(row_clock, bool(row_deleted), bytes(row_phone))
    return found


def _chunks(items: list[bytes], size: int) -> Iterator[list[bytes]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


# --- tombstones and rejoining ---


def purge_tombstones(replica_id: int, stored_before: datetime) -> int:
    """Delete this replica's tombstones stored before `stored_before`; returns how many."""
    purged, _ = Contact.objects.filter(replica_id=replica_id, deleted=True, deleted_at__lt=stored_before).delete()
    return purged


def note_peers_seen(replica_id: int, at: datetime) -> None:
    """Remember that this replica heard from a peer at `at`."""
    Replica.objects.filter(id=replica_id).update(peers_seen_at=at)


def note_alive(replica_id: int, at: datetime | None) -> None:
    """Remember that this replica was running at `at` (None: it has stopped), for the contacts page."""
    Replica.objects.filter(id=replica_id).update(alive_at=at)


def check_rejoin(replica: Replica, now: datetime, tombstone_ttl: timedelta) -> None:
    """Refuse a replica that would bring deleted contacts back: it holds data and was away too long.

    Peers purge a tombstone `tombstone_ttl` after storing it; a replica that has not heard
    from them for longer may still hold a contact they deleted and forgot, and would hand it
    back to them as new. Such a replica must rejoin empty and catch up.
    """
    if replica.peers_seen_at is None or now - replica.peers_seen_at <= tombstone_ttl:
        return
    if not replica.contacts.exists():
        return
    raise StaleReplica(
        f"replica {replica.name} last heard from its peers at {replica.peers_seen_at:%Y-%m-%d %H:%M} UTC, "
        f"longer ago than CONTACTS_TOMBSTONE_TTL ({tombstone_ttl}); its contacts may include ones its peers "
        f"deleted and forgot. Start it with --rejoin-empty to drop its contacts and catch up from its peers."
    )


def empty_replica(name: str) -> None:
    """Drop a replica's contacts and tombstones so it rejoins empty; its clock reservation stays."""
    Contact.objects.filter(replica__name=name).delete()
    Replica.objects.filter(name=name).update(peers_seen_at=None)


# --- reads ---


def list_contacts(replica_id: int, user: bytes) -> list[tuple[bytes, bytes]]:
    """The ListAll answer: this user's live (contact, phone) pairs, sorted by contact name's bytes.

    Raw SQL: a client may ask again and again (to see a change arrive), and the ORM's query
    building would cost more than the query. Binary columns sort as bytes on SQLite and
    PostgreSQL, and the unique index (replica, user, name) hands the rows over in that order.
    """
    with driver_cursor(connection) as cursor:
        cursor.execute(statements()["list"], (replica_id, user, False))
        return [(bytes(name), bytes(phone)) for name, phone in cursor.fetchall()]


def replica_snapshot(replica_id: int) -> list[Update | Delete]:
    """Everything this replica holds as server frames: Update per contact, Delete per tombstone."""
    rows = Contact.objects.filter(replica_id=replica_id).values_list("clock", "user", "name", "phone", "deleted")
    return [
        Delete(clock, bytes(user), bytes(name)) if deleted else Update(clock, bytes(user), bytes(name), bytes(phone))
        for clock, user, name, phone, deleted in rows.iterator(chunk_size=2000)
    ]


def replica_views(user: str) -> dict[str, dict[str, Any]]:
    """Every replica's live contacts of `user` (text, sent as UTF-8), for the side-by-side page.

    Names and phones are shown as text, undecodable bytes as U+FFFD; the order is the
    stored bytes' order, the one ListAll answers in.
    """
    now, beat = timezone.now(), settings.CONTACTS_HEARTBEAT_INTERVAL
    views = {
        replica.name: {
            "clock": replica.clock,
            "alive": replica.is_alive(now, beat),
            "alive_at": replica.alive_at and replica.alive_at.isoformat(timespec="seconds"),
            "contacts": [],
        }
        for replica in Replica.objects.all()
    }
    rows = Contact.objects.live().filter(user=user.encode()).select_related("replica").order_by("replica__name", "name")
    for contact in rows:
        views[contact.replica.name]["contacts"].append({"contact": shown(contact.name), "phone": shown(contact.phone)})
    return views
