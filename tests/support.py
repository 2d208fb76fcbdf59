"""Helpers shared by the test folders: real server processes and optional components."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require(available, reason):
    """Skip with `reason` when a component is missing; under CI, fail instead."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium(*extra_args):
    """Debian's headless Chromium driven by Playwright; skips where missing (fails under CI)."""
    require(CHROMIUM, "Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=20.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def stop_process(process, timeout=10):
    """SIGTERM, then SIGKILL if it lingers; returns the exit code of the SIGTERM (None if killed)."""
    if process.poll() is not None:
        return process.returncode
    process.terminate()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def manage(*args, env):
    """Run a management command in a child process and return its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def fresh_database_url(tmp_path, name):
    """A new, empty database for child processes, on the engine the suite runs on."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp_path / (name + '.sqlite3')}"
    import psycopg

    base, _, _ = url.rpartition("/")
    database = f"chatsite_{name}_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return f"{base}/{database}"


class ServerProcess:
    """A real ASGI server (daphne) in a child process, on its own database."""

    def __init__(self, env, port):
        self.env, self.port = env, port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.process = None

    def start(self):
        # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe
        # would block the server on its next warning.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the server; closed in stop)
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        try:
            wait_for_port(self.port, process=self.process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log:\n{self.read_log()}") from None
        return self

    def command(self):
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "chatsite.asgi:application"]

    def read_log(self):
        """Everything the server has logged so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.process:
            stop_process(self.process)
            self.log.close()

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def call(self, method, path, body=None, headers=None):
        """One HTTP request (JSON body if given): (status, JSON answer, response headers)."""
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.load(error), error.headers


def server_env(database_url, **extra):
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1", DEBUG="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env
