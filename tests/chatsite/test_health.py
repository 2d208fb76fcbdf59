"""`GET /healthz` says the process is up; `GET /readyz` says whether it can serve, and if not, why."""

import contextlib
import socket
import threading
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client

from tests.support import ServerProcess, free_port, fresh_database_url, server_env


@pytest.fixture
def unready_server():
    """Serve from a database of `database_url`, never migrated."""
    started = []

    def start(database_url):
        server = ServerProcess(server_env(database_url), free_port()).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_serving_process_is_healthy_and_ready(live_server_process):
    assert live_server_process.call("GET", "/healthz")[:2] == (200, {"status": "ok"})
    assert live_server_process.call("GET", "/readyz")[:2] == (200, {"status": "ready", "failed": {}})


def test_unapplied_migrations_make_the_process_unready_and_are_named(unready_server, tmp_path):
    server = unready_server(fresh_database_url(tmp_path, "unmigrated"))
    assert server.call("GET", "/healthz")[:2] == (200, {"status": "ok"})
    status, answer = server.call("GET", "/readyz")[:2]
    assert status == 503
    assert answer["status"] == "unavailable"
    assert list(answer["failed"]) == ["migrations"]
    assert "unapplied" in answer["failed"]["migrations"]
    assert "messaging.0001_initial" in answer["failed"]["migrations"]
    assert "manage.py migrate" in answer["failed"]["migrations"]


def test_a_database_that_does_not_answer_makes_the_process_unready(unready_server, tmp_path):
    server = unready_server(f"sqlite:///{tmp_path / 'no-such-directory' / 'db.sqlite3'}")
    assert server.call("GET", "/healthz")[:2] == (200, {"status": "ok"})
    status, answer = server.call("GET", "/readyz")[:2]
    assert status == 503
    assert list(answer["failed"]) == ["database"]
    assert "the database does not answer" in answer["failed"]["database"]


@pytest.mark.django_db
def test_a_channel_layer_redis_that_does_not_answer_makes_the_process_unready(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    response = client.get("/readyz", HTTP_HOST="127.0.0.1")
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["channel_layer"]
    assert "Redis at REDIS_URL does not answer" in response.json()["failed"]["channel_layer"]


def readiness(client):
    """(status, the checks that failed) of `GET /readyz`; None for an answer that is not readiness at all."""
    response = client.get("/readyz", HTTP_HOST="127.0.0.1")
    answer = response.json() if response["Content-Type"] == "application/json" else {}
    return response.status_code, answer.get("failed")


@pytest.mark.django_db(transaction=True)  # autocommit, as a server runs
def test_a_database_lost_after_start_up_makes_the_process_unready_until_it_is_back():
    client = Client(raise_request_exception=False)  # a crash is a 500 here, as a server answers it
    assert readiness(client) == (200, {})
    # The database goes away under a connection Django opened and still holds as open.
    connection.connection.close()
    status, failed = readiness(client)
    assert (status, list(failed or {})) == (503, ["database"]), "unready, for the database alone"
    assert "the database does not answer" in failed["database"]
    assert readiness(client) == (200, {}), "the next probe connects again"


class CuttableLink:
    """A TCP relay to the database server: cut, the server is gone for every connection; restored, it is back."""

    def __init__(self, target):
        self.target, self.port, self.sockets, self.lock = target, free_port(), [], threading.Lock()

    def start(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, args=(self.listener,), daemon=True).start()
        return self

    def accept(self, listener):
        while True:
            try:
                client = listener.accept()[0]
                server = socket.create_connection(self.target)
            except OSError:
                return
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self.relay, args=(source, sink), daemon=True).start()

    @staticmethod
    def relay(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self):
        with self.lock:
            for sock in (self.listener, *self.sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets = []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server to lose is PostgreSQL's (the run on it)")
def test_a_web_process_that_loses_its_database_server_answers_503_until_it_is_back(tmp_path):
    database_url = urlsplit(fresh_database_url(tmp_path, "lost", migrated=True))
    link = CuttableLink((database_url.hostname, database_url.port or 5432)).start()
    credentials = database_url.netloc.rpartition("@")[0]
    env = server_env(database_url._replace(netloc=f"{credentials}@127.0.0.1:{link.port}").geturl())
    server = ServerProcess(env, free_port()).start()
    try:
        assert server.call("GET", "/readyz")[:2] == (200, {"status": "ready", "failed": {}})  # connected
        link.cut()
        for _ in range(2):  # the connection it had, then a new one: both fail
            status, answer, _ = server.call("GET", "/readyz")
            assert (status, list(answer.get("failed", {}))) == (503, ["database"]), answer
            assert "the database does not answer" in answer["failed"]["database"]
        link.start()
        assert server.call("GET", "/readyz")[:2] == (200, {"status": "ready", "failed": {}})
    finally:
        server.stop()
        link.cut()
    assert "Traceback" not in server.read_log()
