"""What `GET /readyz` checks: each check returns None when all is well, else what is wrong.

Not django-health-check: its database check writes a row to a table of its own on every
probe, it answers 500 rather than 503, and it has no channel-layer check, so it would
have cost a migration and a write per probe and still needed a check written here.
"""

import redis
from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor


def database_problem():
    """The database answers, and a write could commit now."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return sqlite_write_problem(cursor) if connection.vendor == "sqlite" else postgresql_write_problem(cursor)
    except DatabaseError as error:
        connection.close()  # the next probe starts on a fresh connection, not a dead one
        return f"the database does not answer: {error}"


def sqlite_write_problem(cursor):
    """Whether the write lock can be taken within READY_CHECK_TIMEOUT (or the lock timeout, if shorter).

    A lock held longer than that (a stuck process, a shell's `BEGIN IMMEDIATE`) makes
    every write wait, then fail with 503: this process should get no traffic meanwhile.
    """
    if connection.in_atomic_block:
        return None  # a transaction (a test's) is open: IMMEDIATE, so it holds the write lock already
    wait = min(settings.READY_CHECK_TIMEOUT, settings.DATABASE_LOCK_TIMEOUT)
    cursor.execute("PRAGMA busy_timeout")
    (kept,) = cursor.fetchone()
    cursor.execute(f"PRAGMA busy_timeout = {max(1, round(wait * 1000))}")
    try:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("ROLLBACK")
    except OperationalError as error:
        return f"writes cannot commit: {error}"
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {kept}")
    return None


def postgresql_write_problem(cursor):
    """Whether the server takes writes: not a standby in recovery, not read-only."""
    cursor.execute("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
    in_recovery, read_only = cursor.fetchone()
    if in_recovery or read_only == "on":
        return "writes cannot commit: the server is read-only (a standby, or default_transaction_read_only)"
    return None


def migrations_problem():
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan)
        return f"{len(plan)} unapplied: {names}; run `manage.py migrate`"
    return None


def channel_layer_problem():
    """The channel layer's Redis answers a PING (no Redis configured: nothing to check)."""
    if not settings.REDIS_URL:
        return None
    timeout = settings.READY_CHECK_TIMEOUT
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"Redis at REDIS_URL does not answer: {error}"
    finally:
        client.close()
    return None


def readiness():
    """`{check: problem}` for every check that failed; empty when the process may take traffic."""
    problems = {"database": database_problem()}
    if problems["database"] is None:
        # Without a database the migrations cannot be read: one failure, named once.
        problems["migrations"] = migrations_problem()
    problems["channel_layer"] = channel_layer_problem()
    return {check: problem for check, problem in problems.items() if problem is not None}
