"""`manage.py kozma`: waits for the server, posts into `kozma`, survives a restart."""

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support import ROOT, ServerProcess, free_port, fresh_database_url, manage, server_env


def kozma_history(server):
    try:
        with urllib.request.urlopen(f"{server.url}/api/rooms/kozma/history", timeout=5) as response:
            return json.load(response)["result"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


def wait_for_posts(server, more_than, deadline=30):
    """Poll the history until it grows past `more_than` (bounded wait, not a timing claim)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        history = kozma_history(server)
        if len(history) > more_than:
            return history
        time.sleep(0.1)
    raise AssertionError(f"Kozma posted nothing new after {deadline}s")


@pytest.fixture
def env(tmp_path):
    env = server_env(fresh_database_url(tmp_path, "kozma"))
    manage("migrate", "--noinput", env=env)
    return env


def test_kozma_waits_for_the_server_posts_aphorisms_and_reconnects_after_a_restart(env):
    port = free_port()
    bot = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "kozma",
            f"--url=ws://127.0.0.1:{port}",
            "--start-delay=0",
            "--max-interval=0.2",
            "--max-backoff=0.3",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = None
    try:
        time.sleep(0.5)  # the bot starts while nothing listens: it must keep retrying
        assert bot.poll() is None
        server = ServerProcess(env, port).start()
        history = wait_for_posts(server, 0)
        assert {m["sender"]["username"] for m in history} == {"Козьма Прутков"}
        assert history[0]["room"] == "kozma"
        server.stop()
        before = len(history)
        server = ServerProcess(env, port).start()
        wait_for_posts(server, before)
    finally:
        if server:
            server.stop()
        bot.send_signal(signal.SIGTERM)
        out, err = bot.communicate(timeout=10)
    assert bot.returncode == 0, err
    assert "stopped after" in out
