"""Storing chat messages: the hot write path, in SQL on the database driver's connection.

Each batch is one transaction; per room one UPDATE takes the message numbers (and the
room's row lock, which orders concurrent writers of one room on PostgreSQL; SQLite's
IMMEDIATE transactions already serialise every writer), one INSERT adds the messages,
one DELETE drops what falls out of the room's history.

Why not the ORM: the ORM and Django's cursor and transaction wrappers cost more CPU per
message than the driver's statements themselves, a large share of the chat's CPU per
delivery (bench/README.md, "What changed, and why"). Errors still come out as Django's
database exceptions, and the connection is still Django's, with its settings and its
health checks.
"""

import contextlib
import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.db import connections

from chatsite.core.sql import driver_cursor, statement
from messaging.models import Message, Room


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
        "trim": statement(connection, Message, "DELETE FROM {table} WHERE {room} = %s AND {seq} <= %s"),
        "count": statement(connection, Room, "SELECT COUNT(*) FROM {table}"),
    }


def store(
    rooms: Iterable[tuple[str, str, Sequence[tuple[str, str, str | None]]]], now: datetime, using: str = "default"
) -> list[tuple[str, int] | None]:
    """Store messages room by room in one transaction; returns each room's (name, first number).

    `rooms` is a list of (room key, the room's name should it be new, messages), each
    message a (sender, text, client_id) triple, all created at `now`. A room that would be
    new while CHAT_MAX_ROOMS exist is not created and its messages not stored: its entry
    is None.
    """
    connection = connections[using]
    sql = statements(using)
    created = connection.ops.adapt_datetimefield_value(now)
    keep = settings.CHAT_MAX_MESSAGES_IN_ROOM
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
                cursor.execute(sql["trim"], (room_id, last_seq - keep))
                stored.append((room_name, first))
            if own_transaction:
                cursor.execute("COMMIT")
        except BaseException:
            if own_transaction:
                with contextlib.suppress(Exception):  # a broken connection has nothing to roll back
                    cursor.execute("ROLLBACK")
            raise
    return stored
