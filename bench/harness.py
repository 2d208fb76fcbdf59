"""What every benchmark shares: a server started as `make run` starts it, CPU pinning, JSON lines."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SERVER_CORE, LOAD_CORE = "0", "1"


def pinned(command, core):
    """Pin a command to one core when the machine has two, as the issues' method asks."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", core, *command]
    return command


def emit(record):
    """Print one result as a JSON line and append it to bench/results/latest.jsonl."""
    line = json.dumps(record, ensure_ascii=False)
    print(line, flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "latest.jsonl", "a") as results:
        results.write(line + "\n")


def wait_for_http(url, timeout=30.0):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout}s")


@contextmanager
def web_server(port=8000, **settings):
    """The `web` process of the Procfile on its own fresh SQLite file, pinned to the server core."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3", PYTHONUNBUFFERED="1")
        env.update({key: str(value) for key, value in settings.items()})
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        command = pinned([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], SERVER_CORE)
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/clients")
            yield f"http://127.0.0.1:{port}", server.pid
        finally:
            server.terminate()
            server.wait(10)
