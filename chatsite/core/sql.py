"""SQL of the hot paths, run on the database driver's own cursor: the project's one way to write raw SQL.

Every raw statement on the project's tables (messaging/store.py, nameserver/store.py,
contacts/services.py) is a `statement()` template, made once per database, run on a
`driver_cursor()`; on PostgreSQL the name server's heartbeat and live map run on the
connection that listens to its tables (nameserver/notified_map.py) instead.

Django's ORM compiles a query again on every call, and its cursor wrapper rewrites the
placeholders and wraps every call; on the hot paths that costs more than the database
(bench/README.md: "What changed, and why" for the chat, "What made it faster" for the
name server). These helpers keep Django's part that matters: its connection, with its
settings and health checks, its table and column names and quoting, and its database
exceptions.
"""

import contextlib


def statement(connection, model, template):
    """`template` with `{table}` and `{field name}` filled in, in the driver's parameter style.

    Write parameters as `%s`; they become `?` for SQLite.
    """
    quote = connection.ops.quote_name
    columns = {field.name: quote(field.column) for field in model._meta.concrete_fields}
    text = template.format(table=quote(model._meta.db_table), **columns)
    return text.replace("%s", "?") if connection.vendor == "sqlite" else text


@contextlib.contextmanager
def driver_cursor(connection, prepared=True):
    """A cursor of the driver, on Django's `connection`; errors come out as Django's.

    On PostgreSQL it is the libpq cursor (chatsite.core.postgresql.libpq_cursor): its
    statements are bound server-side and prepared at their first use, but for a
    transaction's first statement and `executemany`, which psycopg runs. `prepared=False` is
    for a statement whose text varies with its input (an `IN` list): on Django's cursor,
    bound client-side, its shapes cost the server nothing to keep and its parameters are
    not capped at PostgreSQL's 65,535.
    """
    # What Django's own cursor() does first: once per request, drop a connection that no
    # longer answers (CONN_HEALTH_CHECKS), then connect if need be. Only connecting is
    # guarded against a running event loop, so the guard (a RuntimeError raised and caught
    # on every call) is skipped while the thread's connection is open.
    connection.close_if_health_check_failed()
    if connection.connection is None:
        connection.ensure_connection()
    with connection.wrap_database_errors:
        if prepared and connection.vendor == "postgresql":
            cursor = connection.prepared_cursor()
        else:
            cursor = connection.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
