"""Every read and write of a replica's contacts: plain functions, run off the event loop.

Users, contact names and phones are bytes throughout (contacts/protocol.py). Rows are
read back through `bytes()`, because a database driver may hand a binary column back as
a memoryview (psycopg2 does), and a memoryview is neither hashable nor equal to bytes.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from contacts.clock import LamportClock, Version
from contacts.models import Contact, Replica, shown
from contacts.protocol import ClientDelete, ClientUpdate, Delete, HeartBeat, Update, UpdateClock


@dataclass(frozen=True, slots=True)
class LocalWrite:
    """A client's Update or Delete, not yet stamped with this replica's clock."""

    user: bytes
    frame: ClientUpdate | ClientDelete


def open_replica(name):
    """The replica called `name` and its clock, created on first start."""
    replica, _ = Replica.objects.get_or_create(name=name)
    return replica, LamportClock(replica.clock)


def version_of(frame):
    return Version.of_delete(frame.clock) if isinstance(frame, Delete) else Version.of_update(frame.clock, frame.phone)


def stamp(write, clock):
    """The server frame of a local write: the next tick of the clock on it."""
    frame = write.frame
    if isinstance(frame, ClientUpdate):
        return Update(clock.tick(), write.user, frame.contact, frame.phone)
    return Delete(clock.tick(), write.user, frame.contact)


def apply_batch(replica_id, clock, ops):
    """Apply writes in order in one transaction; return the stamped frames of the local ones.

    `ops` mixes LocalWrite (ticks the clock) with received Update, Delete, HeartBeat and
    UpdateClock (pull the clock forward). A received write is stored only if its version
    beats the stored one; local writes always do, since the clock is past every stored
    clock. The clock is saved in the same transaction; on failure it is rolled back too.
    """
    start = clock.value
    stamped, newest, received = [], {}, set()
    for op in ops:
        local = isinstance(op, LocalWrite)
        if local:
            frame = stamp(op, clock)
            stamped.append(frame)
        else:
            clock.observe(op.clock)
            if isinstance(op, HeartBeat | UpdateClock):
                continue
            frame = op
        key = (frame.user, frame.contact)
        version = version_of(frame)
        if key not in newest or version > newest[key][0]:
            newest[key] = (version, frame)
            # Only a received winner must be checked against the stored row.
            (received.discard if local else received.add)(key)
    if received:
        for key, version in stored_versions(replica_id, received).items():
            if version >= newest[key][0]:
                del newest[key]
    rows = [
        (replica_id, frame.user, frame.contact, b"", frame.clock, True)
        if isinstance(frame, Delete)
        else (replica_id, frame.user, frame.contact, frame.phone, frame.clock, False)
        for _, frame in newest.values()
    ]
    try:
        with transaction.atomic():
            if rows:
                upsert_contacts(rows)
            if clock.value != start:
                Replica.objects.filter(id=replica_id).update(clock=clock.value)
    except Exception:
        clock.value = start
        raise
    return stamped, len(rows)


def upsert_contacts(rows):
    """Insert or overwrite (replica_id, user, name, phone, clock, deleted) rows in one statement.

    Raw SQL because the ORM's bulk_create costs ~200 µs a row here, which caps a replica
    far below 15,000 updates/s; INSERT … ON CONFLICT is the same on SQLite and PostgreSQL.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Contact._meta.get_field(name).column) for name in UPSERT_FIELDS)
    key = ", ".join(quote(Contact._meta.get_field(name).column) for name in UPSERT_FIELDS[:3])
    updates = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in UPSERT_FIELDS[3:])
    sql = (
        f"INSERT INTO {quote(Contact._meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


UPSERT_FIELDS = ("replica", "user", "name", "phone", "clock", "deleted")


def stored_versions(replica_id, keys):
    """The stored version of each (user, contact) in `keys` that this replica has a row for."""
    users, names = {user for user, _ in keys}, {name for _, name in keys}
    found = {}
    for chunk in _chunks(sorted(users), 500):
        rows = Contact.objects.filter(replica_id=replica_id, user__in=chunk, name__in=names)
        for user, name, clock, deleted, phone in rows.values_list("user", "name", "clock", "deleted", "phone"):
            key = bytes(user), bytes(name)
            if key in keys:
                found[key] = Version.of_delete(clock) if deleted else Version.of_update(clock, bytes(phone))
    return found


def _chunks(items, size):
    for at in range(0, len(items), size):
        yield items[at : at + size]


def list_contacts(replica_id, user):
    """The ListAll answer: this user's live (contact, phone) pairs, sorted by contact name's bytes."""
    rows = Contact.objects.live().filter(replica_id=replica_id, user=user).values_list("name", "phone")
    return sorted((bytes(name), bytes(phone)) for name, phone in rows)


def replica_snapshot(replica_id):
    """Everything this replica holds as server frames: Update per contact, Delete per tombstone."""
    rows = Contact.objects.filter(replica_id=replica_id).values_list("clock", "user", "name", "phone", "deleted")
    return [
        Delete(clock, bytes(user), bytes(name)) if deleted else Update(clock, bytes(user), bytes(name), bytes(phone))
        for clock, user, name, phone, deleted in rows.iterator(chunk_size=2000)
    ]


def replica_views(user):
    """Every replica's live contacts of `user` (text, sent as UTF-8), for the side-by-side page.

    Names and phones are shown as text, undecodable bytes as U+FFFD; the order is the
    stored bytes' order, the one ListAll answers in.
    """
    views = {replica.name: {"clock": replica.clock, "contacts": []} for replica in Replica.objects.all()}
    rows = Contact.objects.live().filter(user=user.encode()).select_related("replica").order_by("replica__name", "name")
    for contact in rows:
        views[contact.replica.name]["contacts"].append({"contact": shown(contact.name), "phone": shown(contact.phone)})
    return views
