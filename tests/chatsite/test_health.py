"""`GET /healthz` says the process is up; `GET /readyz` says whether it can serve, and if not, why."""

import pytest

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
