"""PostgreSQL: a kept connection is checked each request cycle without a round trip, a dead one still replaced."""

import os
import resource

import psycopg
import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's health check; this run is on SQLite"),
]


@pytest.fixture(autouse=True)
def closed_after():
    """A test that fails with the backend ended must not hand its dead connection to the next test."""
    yield
    connection.close()


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    connection.close_at = None  # kept between request cycles, as CONN_MAX_AGE keeps it outside the tests
    return pid


def next_request_cycle():
    """What Django does between two requests: the next use of the connection checks it first."""
    connection.close_if_unusable_or_obsolete()
    connection.close_if_health_check_failed()


def test_a_healthy_connection_is_checked_without_asking_the_server(monkeypatch):
    pid = backend_pid()

    def asked(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(connection.connection, "cursor", asked)
    next_request_cycle()
    monkeypatch.undo()
    assert connection.connection is not None, "kept"
    assert backend_pid() == pid


def test_a_connection_the_server_ended_is_replaced_at_the_next_request_cycle():
    pid = backend_pid()

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    ) as admin:
        # With a timeout it returns once the backend has exited, not when the signal is sent.
        ended = admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()[0]
    assert ended
    next_request_cycle()
    assert connection.connection is None, "closed by the health check, not by the next query's error"
    assert backend_pid() != pid


def test_a_connection_past_descriptor_1024_is_checked_too():
    """A web process with a thousand sockets opens its next connection past select()'s FD_SETSIZE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this process may open {hard} files; the test needs 1,200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        connection.close()
        pid = backend_pid()
        assert connection.connection.fileno() > 1024
        next_request_cycle()
        assert backend_pid() == pid, "kept: checked without an error"
    finally:
        connection.close()
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
