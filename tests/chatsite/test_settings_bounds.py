"""A bound set to what cannot work stops start-up with the setting's name and why."""

import os
import subprocess
import sys

import pytest

from tests.support import ROOT


def start_up(**settings):
    return subprocess.run(
        [sys.executable, "-c", "import chatsite.settings"],
        cwd=ROOT,
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "name", ["CHAT_WRITE_BATCH", "CHAT_MAX_MESSAGES_IN_ROOM", "CHAT_HISTORY_PAGE_MAX", "CHAT_NODES_SEND_BUFFER_BYTES"]
)
def test_a_bound_of_zero_stops_start_up_saying_which(name):
    started = start_up(**{name: "0"})
    assert started.returncode != 0
    assert f"{name} must be at least 1" in started.stderr


@pytest.mark.parametrize("name", ["CHAT_NODES_CONNECT_TIMEOUT", "CHAT_NODES_RECONNECT_INTERVAL"])
def test_a_wait_of_zero_seconds_stops_start_up_saying_which(name):
    started = start_up(**{name: "0"})
    assert started.returncode != 0
    assert f"{name} must be above 0 seconds" in started.stderr


def test_a_redis_url_of_another_scheme_stops_start_up():
    started = start_up(REDIS_URL="unix:///run/redis.sock")
    assert started.returncode != 0
    assert "REDIS_URL must start redis:// or rediss://" in started.stderr


def test_a_malformed_switch_stops_start_up_on_any_database():
    # DATABASE_PREPARED_STATEMENTS acts on PostgreSQL only, and is read on SQLite all the same.
    started = start_up(DATABASE_URL="sqlite:///unused.sqlite3", DATABASE_PREPARED_STATEMENTS="sometimes")
    assert started.returncode != 0
    assert "DATABASE_PREPARED_STATEMENTS" in started.stderr
