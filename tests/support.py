"""Helpers shared by the test folders: real server processes and optional components."""

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


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


@contextmanager
def sql_statements():
    """Every SQL statement SQLite runs meanwhile, the hot paths' driver-level SQL included
    (chatsite/core/sql.py bypasses Django's cursor, so django_assert_num_queries misses it)."""
    from django.db import connection

    connection.ensure_connection()
    statements = []
    connection.connection.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        connection.connection.set_trace_callback(None)


def http_scope(path):
    """The ASGI scope of a plain request to `path`, for calling the WSGI bridge's `respond`."""
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [(b"host", b"testserver")]}


def require(available, reason):
    """Skip with `reason` when a component is missing; under CI, fail instead."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def redis_test_url(default):
    """The Redis for cross-process tests: REDIS_TEST_URL, else `default`; skips (fails under CI) if none answers."""
    url = os.environ.get("REDIS_TEST_URL") or default
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=1).close()
        reachable = True
    except OSError:
        reachable = False
    require(reachable, f"no Redis answers at {url}; set REDIS_TEST_URL")
    return url


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
    result = subprocess.run(manage_command(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def fresh_database_url(tmp_path, name, engine_url=None, migrated=False):
    """A new database for child processes, on the engine of `engine_url` (default: the suite's).

    Empty, or `migrated`: then a copy of one database this run migrated once
    (`migrated_template`), not a `manage.py migrate` of its own, which costs a process and
    Django's start-up each time (3.6 s on a slow day) for the dozens of servers the suite starts.
    """
    url = os.environ.get("DATABASE_URL", "") if engine_url is None else engine_url
    template = migrated_template(url) if migrated else None
    if not url.startswith("postgres"):
        path = tmp_path / (name + ".sqlite3")
        if template:
            with closing(sqlite3.connect(template)) as source:
                source.execute("VACUUM INTO ?", (str(path),))  # a consistent copy, whatever its journal holds
        return f"sqlite:///{path}"
    import psycopg

    base, _, _ = url.rpartition("/")
    database = f"chatsite_{name}_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"' + (f' TEMPLATE "{template}"' if template else ""))
    CREATED_DATABASES.add(f"{base}/{database}")
    return f"{base}/{database}"


@functools.cache
def migrated_template(engine_url):
    """A database of `engine_url`'s engine with every migration applied, made once a run: its file or its name."""
    directory = tempfile.mkdtemp(prefix="chatsite-template-")
    atexit.register(shutil.rmtree, directory, True)
    url = fresh_database_url(Path(directory), "template", engine_url)
    manage("migrate", "--noinput", env=server_env(url))
    return url.rpartition("/")[2] if url.startswith("postgres") else url.removeprefix("sqlite:///")


# PostgreSQL databases this run made; dropped when it ends, so that runs do not pile them up on the server.
CREATED_DATABASES = set()


def drop_created_databases():
    for url in sorted(CREATED_DATABASES):
        drop_database(url)
    CREATED_DATABASES.clear()


def drop_database(url):
    """Drop a PostgreSQL database `fresh_database_url` made, with whatever is still connected to it."""
    import psycopg

    base, _, database = url.rpartition("/")
    with suppress(psycopg.Error), psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def spawn(command, env):
    """Start `command` in ROOT with its output in a file: nobody reads the log while it runs,
    and a full pipe would block the child on its next warning. Read it with `output()`."""
    log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the process object)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    return process


def output(process):
    """Everything the spawned process has written so far."""
    process.log.seek(0)
    return process.log.read().decode(errors="replace")


def manage_command(*args):
    return [sys.executable, "manage.py", *args]


SERVER_COMMANDS = {
    "daphne": lambda port: [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "chatsite.asgi:application",
    ],
    "runserver": lambda port: manage_command("runserver", f"127.0.0.1:{port}", "--noreload"),
    "uvicorn": lambda port: manage_command("uvicorn", f"127.0.0.1:{port}"),
}


class ServerProcess:
    """A real ASGI server in a child process: `manage.py uvicorn` as `make run` starts it,
    `manage.py runserver` (daphne) as developers start it, or plain daphne."""

    def __init__(self, env, port, server="uvicorn"):
        self.env, self.port, self.server = env, port, server
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.process = None

    def start(self):
        command = SERVER_COMMANDS[self.server](self.port)
        self.process = spawn(command, self.env)
        try:
            wait_for_port(self.port, process=self.process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log:\n{output(self.process)}") from None
        return self

    def stop(self):
        """SIGTERM; the exit code, or None if it had to be killed."""
        if self.process:
            return stop_process(self.process)
        return None

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

    def read_log(self):
        """Everything the server has logged so far."""
        return output(self.process)


def server_env(database_url, **extra):
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1", DEBUG="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


class RedisProcess:
    """A private `redis-server` (no persistence) on a free port, with `options` (`--requirepass`, ...).

    Restartable on the same port."""

    def __init__(self, *options):
        require(shutil.which("redis-server"), "redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = list(options)
        self.process = None

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += self.options
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, process=self.process)
        return self

    def kill(self):
        """SIGKILL: Redis vanishes without closing anything, as in a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process:
            stop_process(self.process)


class TurnServer:
    """Debian's coturn (`turnserver`) on 127.0.0.1 with `use-auth-secret`: our TURN credentials or nothing.

    Both browsers of a test run on this machine, so each relay's peer is the other relay on
    127.0.0.1: coturn refuses loopback peers unless `--allow-loopback-peers` (never in production).
    """

    def __init__(self, directory, secret, realm="chatsite.test"):
        require(shutil.which("turnserver"), "coturn is not installed (apt-get install coturn)")
        self.port = free_port()
        self.url = f"turn:127.0.0.1:{self.port}?transport=udp"
        self.secret, self.realm, self.directory = secret, realm, Path(directory)
        self.process = None

    def start(self):
        command = [
            "turnserver",
            "-n",  # no configuration file: only these options
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={self.port}",
            "--use-auth-secret",
            f"--static-auth-secret={self.secret}",
            f"--realm={self.realm}",
            "--allow-loopback-peers",
            "--fingerprint",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--verbose",  # logs each request with its user, which the tests read
            "--log-file=stdout",
            f"--pidfile={self.directory / 'turnserver.pid'}",
            f"--db={self.directory / 'turndb'}",
        ]
        self.process = spawn(command, os.environ.copy())
        wait_for_port(self.port, process=self.process)  # its TCP listener; UDP opens with it
        return self

    def read_log(self):
        return output(self.process)

    def stop(self):
        if self.process:
            stop_process(self.process)


def report(scenario, **figures):
    """Print a fault scenario's figures as a JSON line; `make faults` also appends them to FAULTS_REPORT."""
    line = json.dumps({"scenario": scenario, **figures})
    print(line)
    if path := os.environ.get("FAULTS_REPORT"):
        with open(path, "a") as results:
            results.write(line + "\n")


def scrape(url):
    """`GET url` (a Prometheus endpoint) as {(name, sorted labels): value}; counters by their `_total` name."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def figure(figures, name, **labels):
    """One sample of a `scrape()`, 0 when it is not there (a labelled gauge appears at its first use)."""
    return figures.get((name, tuple(sorted(labels.items()))), 0)
