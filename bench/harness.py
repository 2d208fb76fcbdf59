"""What every benchmark shares: servers started as `make run` starts them, pinning, results.

Method: the server under test on core 0, the load generator on core 1, the
median of 3 runs, every result printed as a JSON line and saved in bench/results/.
"""

import json
import os
import platform
import resource
import shutil
import tempfile
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from tests.support import (
    SERVER_COMMANDS,
    RedisProcess,
    free_port,
    fresh_database_url,
    manage,
    spawn,
    stop_process,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SERVER_CORE, LOAD_CORE = "0", "1"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))

# The web process as `make run` starts it, in production mode: DEBUG off (it keeps every
# SQL query in memory), no log line per request, no per-address cap on the load's sockets.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret",
    "LOG_LEVEL": "WARNING",
    "WS_MAX_CONNECTIONS_PER_ADDRESS": "0",
}
# runserver serves with daphne; uvicorn is `manage.py uvicorn` (uvloop, httptools).
BENCH_SERVERS = ("runserver", "uvicorn")


def pinned(command, core):
    """Pin a command to one core when the machine has two, as the issues' method asks."""
    if core is not None and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", core, *command]
    return command


def emit(record):
    print(json.dumps(record, ensure_ascii=False), flush=True)
    return record


def save(name, records):
    """bench/results/<name>.json: this run's records, for bench/README.md and bench/charts.py."""
    RESULTS.mkdir(exist_ok=True)
    document = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs {platform.machine()}, Python {platform.python_version()}",
        "records": records,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def median_of(runs, key, **extra):
    """The run with the median `key`, and every run's value of it."""
    middle = sorted(runs, key=lambda run: run[key])[len(runs) // 2]
    return {**middle, **extra, f"{key}_runs": [run[key] for run in runs]}


def manage_env(database_url, **settings):
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1", **PRODUCTION)
    env.update({key: str(value) for key, value in settings.items()})
    return env


@contextmanager
def fresh_database(engine_url=""):
    """A migrated database of its own: a SQLite file, or a new database beside `engine_url` (PostgreSQL)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database_url(Path(tmp), "bench", engine_url)
        manage("migrate", "-v0", env=manage_env(url))
        yield url


def open_files_unlimited():
    """Raise the soft open-files limit to the hard one: 10,000 sockets need it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextmanager
def web_server(server="uvicorn", core=SERVER_CORE, database_url=None, **settings):
    """One web process (`server` of BENCH_SERVERS) pinned to `core`; yields (http url, pid)."""
    open_files_unlimited()  # inherited by the server: 10,000 sockets need it
    with fresh_database() if database_url is None else nullcontext(database_url) as url:
        port = free_port()
        process = spawn(pinned(SERVER_COMMANDS[server](port), core), manage_env(url, **settings))
        try:
            wait_for_port(port, timeout=30, process=process)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            stop_process(process, 20)


@contextmanager
def redis_server():
    """A private redis-server on a free port (nothing saved); yields its URL."""
    if not shutil.which("redis-server"):
        raise SystemExit("this benchmark needs redis-server: apt-get install redis-server")
    redis = RedisProcess().start()
    try:
        yield redis.url
    finally:
        redis.stop()


def cpu_seconds(pid, stat=None):
    """User + system CPU time a process (or, with `stat`, one of its threads) has used so far, from /proc."""
    fields = Path(stat or f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid):
    """(main thread, all other threads) CPU seconds of a process: its event loop and its worker threads."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        seconds = cpu_seconds(pid, task / "stat")
        if task.name == str(pid):
            main += seconds
        else:
            other += seconds
    return main, other


def thread_cpu_us_each(pid, before, count):
    """CPU µs per item on (main thread, other threads) since `before`, a `thread_cpu_seconds` sample."""
    return tuple(1e6 * (end - start) / count for start, end in zip(before, thread_cpu_seconds(pid), strict=True))


def rss_kib(pid):
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")
