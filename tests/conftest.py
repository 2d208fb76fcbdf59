import os
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import ServerProcess, drop_created_databases, free_port, fresh_database_url, server_env


def pytest_sessionstart(session):
    """On a PostgreSQL run, make sure the server answers before any test tries."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, _ = url.rpartition("/")
    try:
        psycopg.connect(f"{base}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL at {base} does not answer ({error}); set TEST_POSTGRES_URL to run the suite on it"
        if os.environ.get("CI"):
            pytest.exit(f"{reason}. CI is set, so this is a failure.", returncode=1)
        session.config.postgres_unavailable = reason


def pytest_sessionfinish(session):
    drop_created_databases()


def pytest_collection_modifyitems(config, items):
    reason = getattr(config, "postgres_unavailable", None)
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


def start_server(tmp_path_factory, name, server="uvicorn", **settings):
    """Serve the whole ASGI app from a fresh migrated database, as `make run` does."""
    port = free_port()
    database_url = fresh_database_url(tmp_path_factory.mktemp(name), name, migrated=True)
    env = server_env(database_url, NODE_ADDRESS=f"127.0.0.1:{port}", **settings)
    return ServerProcess(env, port, server=server).start()


def second_server(server, **settings):
    """Another server process on the same database (and channel layer) as `server`."""
    env = {**server.env, **{key: str(value) for key, value in settings.items()}}
    return ServerProcess(env, free_port(), server=server.server).start()


@pytest.fixture(scope="session")
def live_server_process(tmp_path_factory):
    """The whole platform over real sockets, shared by the end-to-end tests."""
    server = start_server(tmp_path_factory, "live")
    yield server
    server.stop()


class Clock:
    """A controllable `timezone.now()`, so expiry and staleness are tested without sleeping."""

    def __init__(self):
        self.now = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """No kept connections in the test process: a worker thread's (the HTTP bridge's pool)
    would stay open after its test, and PostgreSQL refuses to drop a database in use.

    SQLite tests run on a file, as the server does: Django's default in-memory test
    database uses a shared cache, whose table locks fail at once ("database table is
    locked") where two threads write, instead of waiting as WAL and the busy timeout do.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    database["CONN_MAX_AGE"] = 0
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["TEST"]["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database, with the name server's listening connections closed before it is dropped."""
    yield
    from nameserver import notified_map

    notified_map.close_all()
