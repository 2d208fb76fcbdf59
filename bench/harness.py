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
import threading
import time
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path

from tests.support import (
    SERVER_COMMANDS,
    RedisProcess,
    drop_database,
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
# The scaling runs give the server the whole two-core machine and the load what it leaves.
BOTH_CORES = "0,1"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/chatsite")

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


def two_cores():
    return (os.cpu_count() or 1) >= 2


def pinned(command, core):
    """Pin a command to one core ("0") or a set ("0,1") when the machine has two, as the issues' method asks."""
    if core is not None and shutil.which("taskset") and two_cores():
        return ["taskset", "-c", core, *command]
    return command


def pin_process(pid, core):
    """Pin a running process, every thread of it, as `pinned` pins a command; False where not allowed."""
    if core is None or not two_cores():
        return True
    cores = {int(n) for n in core.split(",")}
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cores)
    except PermissionError:
        return False  # another user's process (PostgreSQL's) and we are not root
    except (FileNotFoundError, ProcessLookupError):
        pass  # it exited meanwhile
    return True


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
def fresh_database(engine_url="", name="bench"):
    """A migrated database of its own: a SQLite file, or a new database beside `engine_url` (PostgreSQL).

    Several at once need several names: a PostgreSQL database is named after `name` and this process.
    """
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database_url(Path(tmp), name, engine_url)
        try:
            manage("migrate", "-v0", env=manage_env(url))
            yield url
        finally:
            if url.startswith("postgres"):
                drop_database(url)


def open_files_unlimited():
    """Raise the soft open-files limit to the hard one: 10,000 sockets need it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextmanager
def web_server(server="uvicorn", core=SERVER_CORE, database_url=None, **settings):
    """One web process (`server` of BENCH_SERVERS) pinned to `core`; yields (http url, pid).

    With WEB_WORKERS=N the pid is the process that started the workers (`web_pids` lists
    them all), and this waits until all N listen, so the kernel spreads the load over all of them.
    """
    open_files_unlimited()  # inherited by the server: 10,000 sockets need it
    with fresh_database() if database_url is None else nullcontext(database_url) as url:
        port = free_port()
        process = spawn(pinned(SERVER_COMMANDS[server](port), core), manage_env(url, **settings))
        try:
            wait_for_port(port, timeout=30, process=process)
            wait_for_listeners(port, int(settings.get("WEB_WORKERS", 1)), process)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            stop_process(process, 20)


def listeners(port):
    """How many sockets listen on `port` (several with SO_REUSEPORT), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        count += fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port
    return count


def wait_for_listeners(port, count, process, timeout=60):
    deadline = time.monotonic() + timeout
    while count > 1 and listeners(port) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers were to listen on {port}; {listeners(port)} do")
        time.sleep(0.1)


def web_pids(pid):
    """`pid` and every process under it (WEB_WORKERS' workers), from /proc."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


@contextmanager
def redis_server(core=None):
    """A private redis-server on a free port (nothing saved), pinned to `core` if given; yields
    its URL, whose `pid` is the server's process (to count its CPU)."""
    if not shutil.which("redis-server"):
        raise SystemExit("this benchmark needs redis-server: apt-get install redis-server")
    redis = RedisProcess().start()
    pin_process(redis.process.pid, core)
    try:
        yield RedisURL(redis.url, redis.process.pid)
    finally:
        redis.stop()


class RedisURL(str):
    """A Redis URL that knows its server's pid."""

    def __new__(cls, url, pid):
        self = super().__new__(cls, url)
        self.pid = pid
        return self


def postgres_reachable(url=POSTGRES_URL):
    """None if a PostgreSQL server answers at `url` (any database name), else why not."""
    import psycopg

    try:
        psycopg.connect(url.rpartition("/")[0] + "/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        return f"no PostgreSQL at {url} ({str(error).strip().splitlines()[0]})"
    return None


# What each service the production configuration needs leaves out of `make bench` where it is missing.
NEEDS = {
    "postgresql": "the PostgreSQL rows (http, chat production, scaling)",
    "redis": "the Redis rows (http, chat layers, nodes and production, scaling)",
}


def missing_services(postgres_url=POSTGRES_URL):
    """{service: why it cannot be used here} for PostgreSQL and a private redis-server."""
    missing = {}
    if reason := postgres_reachable(postgres_url):
        missing["postgresql"] = reason
    if not shutil.which("redis-server"):
        missing["redis"] = "redis-server is not installed"
    return missing


def skip_line(missing):
    """The one line that says which rows are left out, why, and how to get them."""
    rows = " and ".join(NEEDS[service] for service in missing)
    return (
        f"# skipping {rows}: {'; '.join(missing.values())}. To measure them: `apt-get install postgresql "
        "redis-server` and a PostgreSQL server at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/...)."
    )


def add_service_options(parser):
    parser.add_argument(
        "--postgres",
        default=POSTGRES_URL,
        help="a PostgreSQL server (its URL with any database name); the bench creates its own database there",
    )
    parser.add_argument(
        "--without",
        action="append",
        choices=sorted(NEEDS),
        help="leave out the rows that need this service (make bench checks once and says so)",
    )


def services(options):
    """The services this run measures with: all but `--without`'s, or, when not told, those
    found here (saying in one line which rows the others leave out)."""
    if options.without is not None:
        return set(NEEDS) - set(options.without)
    missing = missing_services(options.postgres)
    if missing:
        print(skip_line(missing), flush=True)
    return set(NEEDS) - set(missing)


def quick(options, duration_attr="duration", seconds=3):
    """--quick: one run each, `seconds` long, saved under results/quick/ (the tables read results/)."""
    global RUNS, RESULTS
    if options.quick:
        RUNS, RESULTS = 1, RESULTS / "quick"
        setattr(options, duration_attr, seconds)


class PostgresBackends:
    """CPU seconds of the PostgreSQL backends serving one database on this machine, from /proc.

    A backend's process title names its database ("postgres: [cluster: ]user database
    host(port) state"), so they are found by their command line. A thread reads them every
    `every` seconds, so a backend that exits loses at most that much of its time; one that
    starts is counted from its start. With `core`, each backend found is pinned there, as
    the web process is, so PostgreSQL's work competes for the server's core and not the load's.
    Not counted: PostgreSQL's shared processes (WAL writer, checkpointer), which serve every
    database on the server.
    """

    def __init__(self, database_url, core=None, every=0.25):
        self.database = database_url.rpartition("/")[2]
        self.core, self.every = core, every
        self.last = {}  # backend pid: its CPU seconds when last read
        self.others = set()  # pids that are not PostgreSQL at all: never read again
        self.pinned = True
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.seconds()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()

    def run(self):
        while not self.stopped.wait(self.every):
            self.seconds()

    def backends(self):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in self.others:
                continue
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "postgres" not in title:
                self.others.add(int(entry.name))
            elif title.startswith("postgres:") and self.database in title.split():
                yield int(entry.name)

    def seconds(self):
        """CPU seconds of this database's backends so far (those that exited: until last read)."""
        with self.lock:
            for pid in self.backends():
                if pid not in self.last and self.core is not None and self.pinned:
                    self.pinned = pin_process(pid, self.core)
                    if not self.pinned:
                        print("# cannot pin PostgreSQL's backends (not root): counted, but on any core", flush=True)
                with suppress(OSError):
                    self.last[pid] = cpu_seconds(pid)
            return sum(self.last.values())


class ServerCPU:
    """CPU seconds so far of all that serves a benchmark, each part apart: the web processes
    (a process and its WEB_WORKERS), the PostgreSQL backends of its database, its private Redis."""

    def __init__(self, pids, postgres=None, redis=None):
        self.pids, self.postgres, self.redis = list(pids), postgres, redis

    def read(self):
        sample = {"web": sum(cpu_seconds(pid) for pid in self.pids)}
        if self.postgres is not None:
            sample["postgres"] = self.postgres.seconds()
        if self.redis is not None:
            sample["redis"] = cpu_seconds(self.redis)
        return sample

    @staticmethod
    def each(before, after, count, prefix="cpu_us_"):
        """µs per item of each part since `before`, and their total, rounded to 0.01 µs."""
        parts = {part: 1e6 * (after[part] - before[part]) / count for part in before}
        parts["total"] = sum(parts.values())
        return {f"{prefix}{part}": round(value, 2) for part, value in parts.items()}


def cpu_seconds(pid, stat=None):
    """User + system CPU time a process (or, with `stat`, one of its threads) has used so far, from /proc."""
    fields = Path(stat or f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(pids, busy_below=0.02, timeout=60.0):
    """Wait until `pids` use less than `busy_below` of a core, or `timeout` seconds have passed.

    A server goes on working after its clients leave (a chat server ends each session in
    the database), and that work would run during, and be charged to, whatever runs next.
    """
    window = 0.25
    deadline = time.monotonic() + timeout

    def used():
        total = 0.0
        for pid in pids:
            with suppress(FileNotFoundError, ProcessLookupError):  # it exited meanwhile
                total += cpu_seconds(pid)
        return total

    before = used()
    while time.monotonic() < deadline:
        time.sleep(window)
        now = used()
        if now - before < busy_below * window:
            return
        before = now


def machine_cpu_seconds():
    """CPU seconds all processes of the machine have used so far (user, nice, system, interrupts), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = Path("/proc/stat").read_text().split()[1:8]
    return sum(int(ticks) for ticks in (user, nice, system, irq, softirq)) / os.sysconf("SC_CLK_TCK")


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
