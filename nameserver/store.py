"""The name server's two hot queries, in SQL on the database driver's cursor.

Every live client heartbeats once a second, and each heartbeat answers the whole live
map, so these two run on nearly every request. Through the ORM, compiling them cost
more than the request's other work together (see chatsite/sql.py).
"""

import functools

from django.db import connections

from chatsite.sql import driver_cursor, statement
from nameserver.models import Client


@functools.cache
def statements(using):
    connection = connections[using]
    return {
        # Only a live client is touched, so a heartbeat racing the pruner never resurrects one.
        "heartbeat": statement(
            connection,
            Client,
            "UPDATE {table} SET {connected} = %s, {entry} = {entry_head} || %s WHERE {id} = %s AND {connected} >= %s",
        ),
        "live": statement(
            connection, Client, "SELECT {entry} FROM {table} WHERE {connected} >= %s ORDER BY {connected}"
        ),
    }


def heartbeat(client_id, now, cutoff, entry_tail, using="default"):
    """Set `connected` to `now` if the client is live at `cutoff`; True when it was."""
    connection = connections[using]
    values = (
        connection.ops.adapt_datetimefield_value(now),
        entry_tail,
        Client._meta.pk.get_db_prep_value(client_id, connection),
        connection.ops.adapt_datetimefield_value(cutoff),
    )
    with driver_cursor(using) as cursor:
        cursor.execute(statements(using)["heartbeat"], values)
        return cursor.rowcount == 1


def live_entries(cutoff, using="default"):
    """The stored JSON member of every client connected at or after `cutoff`."""
    connection = connections[using]
    with driver_cursor(using) as cursor:
        cursor.execute(statements(using)["live"], (connection.ops.adapt_datetimefield_value(cutoff),))
        return [entry for (entry,) in cursor.fetchall()]
