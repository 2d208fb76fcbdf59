"""`manage.py kozma`: waits for the server, posts into `kozma`, survives a restart."""

import json
import signal
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support import ServerProcess, free_port, fresh_database_url, output, server_env, spawn


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
    return server_env(fresh_database_url(tmp_path, "kozma", migrated=True))


def failed_attempts(bot, at_least, deadline=30):
    """Wait until the bot has logged `at_least` failed connection attempts; its log by then."""
    end = time.monotonic() + deadline
    while (log := output(bot)).count("unreachable") < at_least:
        assert bot.poll() is None, f"the bot exited while nothing listened:\n{log}"
        assert time.monotonic() < end, f"the bot logged fewer than {at_least} failed attempts:\n{log}"
        time.sleep(0.05)
    return log


def test_kozma_waits_for_the_server_posts_aphorisms_and_reconnects_after_a_restart(env):
    port = free_port()
    command = [sys.executable, "manage.py", "kozma", f"--url=ws://127.0.0.1:{port}", "--start-delay=0"]
    bot = spawn([*command, "--max-interval=0.2", "--max-backoff=0.3"], env)
    server = None
    try:
        failed_attempts(bot, 2)  # the bot starts while nothing listens: it keeps retrying
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
        bot.wait(timeout=10)
    assert bot.returncode == 0, output(bot)
    assert "stopped after" in output(bot)
    assert f"connected to ws://127.0.0.1:{port}/ws?username=Козьма Прутков" in output(bot)
