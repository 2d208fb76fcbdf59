"""Storing chat messages: the hot write path, in SQL on the database driver's connection.

Each batch is one transaction; per room one UPDATE takes the message numbers (and the
room's row lock, which orders concurrent writers of one room on PostgreSQL; SQLite's
IMMEDIATE transactions already serialise every writer), an INSERT per message adds them,
one DELETE drops what falls out of the room's history (on PostgreSQL most batches take
one statement instead: below). Rooms are locked in key order, so
two processes writing to the same rooms wait for each other instead of deadlocking.

The DELETE names both ends of the range it drops: the messages this batch pushes out of
the history, the older ones being gone already. On PostgreSQL a deleted row stays in the
index until VACUUM, and a range open below made every batch walk all the room's rows
deleted since, thousands of them between two vacuums. So after CHAT_MAX_MESSAGES_IN_ROOM
is lowered, a room that exists keeps up to the old number of messages until it is pruned
(docs/configuration.md).

On PostgreSQL, where each statement is a round trip to another process, the messages to
rooms that exist are stored by one statement (`existing`): locks, numbers, insert and trim
in one round trip, its own transaction. Only rooms that do not exist yet take the path
above, in a second transaction; a message is never stored twice, and a room created by
another process in between is found there.

Why not the ORM: the ORM and Django's cursor and transaction wrappers cost more CPU per
message than the driver's statements themselves, a large share of the chat's CPU per
delivery (bench/README.md, "What changed, and why"). Errors still come out as Django's
database exceptions, and the connection is still Django's, with its settings and its
health checks.
"""

import contextlib
import functools
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from chatsite.core.sql import driver_cursor, statement
from messaging.models import Message, Room

# A room's messages to store: (room key, the room's name should it be new, (sender, text, client_id) each).
RoomMessages = tuple[str, str, Sequence[tuple[str, str, str | None]]]


@functools.cache
def statements(using: str) -> dict[str, str]:
    """The SQL of a batch for the database `using`."""
    connection = connections[using]
    return {
        "begin": "BEGIN IMMEDIATE" if connection.vendor == "sqlite" else "BEGIN",
        "take": statement(
            connection,
            Room,
            "UPDATE {table} SET {last_seq} = {last_seq} + %s WHERE {key} = %s RETURNING {id}, {name}, {last_seq}",
        ),
        "create": statement(
            connection,
            Room,
            "INSERT INTO {table} ({key}, {name}, {created}, {last_seq}) VALUES (%s, %s, %s, 0) "
            "ON CONFLICT ({key}) DO NOTHING",
        ),
        "insert": statement(
            connection,
            Message,
            "INSERT INTO {table} ({room}, {seq}, {sender}, {text}, {client_id}, {created}) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
        ),
        "trim": statement(connection, Message, "DELETE FROM {table} WHERE {room} = %s AND {seq} > %s AND {seq} <= %s"),
        "count": statement(connection, Room, "SELECT COUNT(*) FROM {table}"),
        "existing": existing_statement(connection) if connection.vendor == "postgresql" else None,
    }


def existing_statement(connection: BaseDatabaseWrapper) -> str:
    """PostgreSQL: store messages to existing rooms in one statement; returns (key, name, first number) per room.

    Parameters: the messages as arrays (room key, number among the batch's messages to its
    room from 1, sender, text, client_id), then created, then three times the history kept.
    Rooms that do not exist are left out of the answer and nothing is stored for them.
    """
    # Two passes: the rooms' names first, then ({{...}} by then {...}) the messages'.
    rooms_filled = statement(
        connection,
        Room,
        """
        WITH batch AS (
            SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[])
                AS m(key, n, sender, text, client_id)
        ), counts AS (
            SELECT key, count(*) AS taken FROM batch GROUP BY key
        ), locked AS (
            SELECT r.{id} AS id FROM {table} r JOIN counts c ON r.{key} = c.key ORDER BY r.{key} FOR UPDATE OF r
        ), numbered AS (
            UPDATE {table} r SET {last_seq} = r.{last_seq} + c.taken
            FROM counts c, locked l WHERE r.{id} = l.id AND r.{key} = c.key
            RETURNING r.{id} AS id, r.{key} AS key, r.{name} AS name, r.{last_seq} AS last_seq, c.taken
        ), inserted AS (
            INSERT INTO {{table}} ({{room}}, {{seq}}, {{sender}}, {{text}}, {{client_id}}, {{created}})
            SELECT numbered.id, numbered.last_seq - numbered.taken + batch.n, batch.sender, batch.text,
                batch.client_id, %s
            FROM batch JOIN numbered ON numbered.key = batch.key
            WHERE numbered.taken - batch.n < %s
        ), trimmed AS (
            DELETE FROM {{table}} USING numbered
            WHERE {{table}}.{{room}} = numbered.id
                AND {{table}}.{{seq}} > numbered.last_seq - numbered.taken - %s
                AND {{table}}.{{seq}} <= numbered.last_seq - %s
        )
        SELECT key, name, last_seq - taken + 1 FROM numbered
        """,
    )
    return statement(connection, Message, rooms_filled)


def store(rooms: Sequence[RoomMessages], now: datetime, using: str = "default") -> list[tuple[str, int] | None]:
    """Store messages room by room; returns each room's (name, first number).

    One transaction; on PostgreSQL, rooms that exist take one statement of their own and
    new rooms a second transaction (see the module's docstring).

    `rooms` is a list of (room key, the room's name should it be new, messages), each
    message a (sender, text, client_id) triple, all created at `now`. A room that would be
    new while CHAT_MAX_ROOMS exist is not created and its messages not stored: its entry
    is None.
    """
    connection = connections[using]
    sql = statements(using)
    created = connection.ops.adapt_datetimefield_value(now)
    keep = settings.CHAT_MAX_MESSAGES_IN_ROOM
    stored = {}
    if sql["existing"]:
        stored = store_in_existing_rooms(connection, sql["existing"], rooms, created, keep)
        if len(stored) == len(rooms):
            return [stored[key] for key, _, _ in rooms]
    new = sorted((room for room in rooms if room[0] not in stored), key=lambda room: room[0])
    stored.update(zip((key for key, _, _ in new), store_each(connection, sql, new, created, keep), strict=True))
    return [stored[key] for key, _, _ in rooms]


def store_in_existing_rooms(
    connection: BaseDatabaseWrapper, sql: str, rooms: Sequence[RoomMessages], created: object, keep: int
) -> dict[str, tuple[str, int]]:
    """PostgreSQL: the messages to rooms that exist, stored in one statement; {key: (name, first number)}."""
    columns = ([], [], [], [], [])
    for key, _, messages in rooms:
        for n, (sender, text, client_id) in enumerate(messages, 1):
            for column, value in zip(columns, (key, n, sender, text, client_id), strict=True):
                column.append(value)
    with driver_cursor(connection) as cursor:
        cursor.execute(sql, (*columns, created, keep, keep, keep))
        return {key: (name, first) for key, name, first in cursor.fetchall()}


def store_each(
    connection: BaseDatabaseWrapper, sql: dict[str, str], rooms: Sequence[RoomMessages], created: object, keep: int
) -> list[tuple[str, int] | None]:
    """Store messages room by room, in the order given, in one transaction (see `store`)."""
    if not rooms:
        return []
    # Inside someone else's transaction (a test, the shell) that one decides; else our own.
    own_transaction = not connection.in_atomic_block
    stored = []
    with driver_cursor(connection) as cursor:
        try:
            if own_transaction:
                cursor.execute(sql["begin"])
            for key, name, messages in rooms:
                cursor.execute(sql["take"], (len(messages), key))
                row = cursor.fetchone()
                if row is None:
                    cursor.execute(sql["count"])
                    if cursor.fetchone()[0] >= settings.CHAT_MAX_ROOMS:
                        stored.append(None)
                        continue
                    cursor.execute(sql["create"], (key, name, created))
                    cursor.execute(sql["take"], (len(messages), key))
                    row = cursor.fetchone()
                room_id, room_name, last_seq = row
                first = last_seq - len(messages) + 1
                cursor.executemany(
                    sql["insert"],
                    [(room_id, first + n, *message, created) for n, message in enumerate(messages)],
                )
                cursor.execute(sql["trim"], (room_id, first - 1 - keep, last_seq - keep))
                stored.append((room_name, first))
            if own_transaction:
                cursor.execute("COMMIT")
        except BaseException:
            if own_transaction:
                with contextlib.suppress(Exception):  # a broken connection has nothing to roll back
                    cursor.execute("ROLLBACK")
            raise
    return stored
