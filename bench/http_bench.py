"""Every JSON endpoint under real HTTP load, beside the framework's floor (`GET /api/settings`).

Runs `wrk -t1 -c50 -d10s` (pinned to the load core) against the web process of `make run`
(started here on a fresh database, pinned to the server core) in each configuration
(CONFIGS): the default on SQLite; `DATABASE_URL` on the PostgreSQL at --postgres; and
that with `REDIS_URL` on a private redis-server, the production configuration of
docs/operations.md (its rows: the floor and the name server). The database holds 100
live clients, each heartbeated once a second by a keeper thread on its own connection as
the original Go client does (every run checks all 100 are still live after it), and 10
rooms of 100 messages.

CPU per request counts all that serves it: the web process (event loop + request
threads), the PostgreSQL backends serving the bench's database (pinned to the server
core with the web process; harness.PostgresBackends) and the private Redis (also pinned
there), each apart and in total.

`--compare URL` measures another name server too (the Go original started by hand and
pinned to the server core, say; `--compare-pid` counts its CPU) for `GET /clients` and
`PATCH /client`, its runs alternating with ours in every configuration. Prints one JSON
line per configuration, server and endpoint with the median of 3 runs; results in
bench/results/http.json. `--quick`: one 3-second run of the floor and the name server
per configuration, saved under bench/results/quick/.
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from bench import harness
from bench.harness import (
    LOAD_CORE,
    SERVER_CORE,
    PostgresBackends,
    ServerCPU,
    add_service_options,
    cpu_seconds,
    emit,
    fresh_database,
    manage_env,
    median_of,
    pinned,
    redis_server,
    save,
    services,
    thread_cpu_seconds,
    thread_cpu_us_each,
    web_pids,
    web_server,
)
from tests.support import manage

WRK_DIR = Path(__file__).resolve().parent / "wrk"
FLOOR = "GET /api/settings"
NAME_SERVER = ("GET /clients", "PATCH /client")
# name: (database, with a private Redis, endpoints measured; None: all).
CONFIGS = {
    "sqlite": ("sqlite", False, None),
    "postgresql": ("postgresql", False, None),
    "postgresql + redis": ("postgresql", True, (FLOOR, *NAME_SERVER)),
}
ROOMS = """
from messaging import services
for room in range(10):
    for n in range(100):
        services.post_message(room_name=f"room-{room}", sender="bench", text=f"message {n} " + "x" * 40)
"""


def call(conn, method, path, body=None):
    conn.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response, json.loads(response.read())


def register_clients(url, count):
    conn = connect(url)
    body = {"ip": "10.0.0.1", "port": 7000}
    return [call(conn, "POST", "/client", {**body, "name": f"bench-{n}"})[1]["id"] for n in range(count)]


def connect(url):
    target = urlsplit(url)
    return http.client.HTTPConnection(target.hostname, target.port, timeout=10)


@contextmanager
def keepers(url, ids):
    """Heartbeat each client about once a second, one connection per client: behind wrk's
    50 connections a request may wait ~100 ms, and 100 heartbeats in a row on one
    connection could take longer than the 5 s TTL."""
    stop = threading.Event()

    failed = []

    def beat(client_id):
        conn = connect(url)
        while not stop.wait(1.0):
            try:
                call(conn, "PATCH", "/client", {"id": client_id})
            except (OSError, http.client.HTTPException, ValueError) as error:
                # The server closed the connection or answered garbage: as a client would,
                # try again at the next beat on a new connection (`live_after` tells if
                # the client expired meanwhile).
                failed.append(error)
                conn.close()
                conn = connect(url)

    threads = [threading.Thread(target=beat, args=(client_id,), daemon=True) for client_id in ids]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        if failed:
            print(f"# {url}: {len(failed)} heartbeats of the keepers failed ({failed[0]!r})", file=sys.stderr)


def live_count(url):
    return len(call(connect(url), "GET", "/clients")[1])


def user_cookie(url):
    """The Cookie header of a registered signaling user, for `GET /v1/user`."""
    response, _ = call(connect(url), "POST", "/v1/register", {"username": "bench-user"})
    cookies = [header.split(";")[0] for header in response.headers.get_all("Set-Cookie")]
    return "Cookie: " + "; ".join(cookies)


def loads(ids, cookie):
    """(endpoint, path, wrk script, script arguments)."""
    return [
        (FLOOR, "/api/settings", "get.lua", ()),
        ("GET /clients", "/clients", "get.lua", ()),
        ("PATCH /client", "/client", "heartbeat.lua", ids),
        ("POST /auth", "/auth", "post_unique.lua", ("/auth", "nickname")),
        ("POST /v1/register", "/v1/register", "post_unique.lua", ("/v1/register", "username")),
        ("GET /v1/user", "/v1/user", "get_with.lua", (cookie,)),
        ("GET /api/rooms", "/api/rooms", "get.lua", ()),
        ("GET /api/rooms/{name}/history", "/api/rooms/room-0/history", "get.lua", ()),
    ]


def wrk(url, script, options, args=(), place=lambda command: pinned(command, LOAD_CORE), connections=None):
    """One wrk run, placed on the machine by `place` (the load core); its result with `load_cpu_s`, wrk's CPU."""
    connections = connections or options.connections
    command = ["wrk", "-t1", f"-c{connections}", f"-d{options.duration}s", "-s", str(WRK_DIR / script), url]
    if args:
        command += ["--", *args]
    env = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR))
    before = children_cpu_seconds()
    output = subprocess.run(place(command), env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1]) | {"load_cpu_s": round(children_cpu_seconds() - before, 3)}


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(runs, floor=None, **labels):
    record = {**labels, **median_of(runs, "requests_per_s", p99_ms_median=statistics.median(r["p99_ms"] for r in runs))}
    if "live_after" in runs[0]:
        record["live_after_runs"] = [run["live_after"] for run in runs]
    if floor:
        # How many floors one request of this endpoint costs (1.0: the framework alone).
        record["cost_in_floors"] = round(floor / record["requests_per_s"], 2)
    return emit(record)


class Served:
    """A name server under test: its URL, and the CPU of all that serves it (ServerCPU), if known."""

    def __init__(self, name, url, cpu=None, main_pid=None):
        self.name, self.url, self.cpu, self.main_pid = name, url, cpu, main_pid

    def run(self, path, script, options, args, **wrk_options):
        """One wrk run with the CPU per request of each part of the server (an upper bound of the
        endpoint's own cost: the keepers' 100 heartbeats a second are in it)."""
        before = self.cpu.read() if self.cpu else None
        threads = thread_cpu_seconds(self.main_pid) if self.main_pid else None
        run = wrk(self.url + path, script, options, args, **wrk_options)
        if before is not None:
            run |= ServerCPU.each(before, self.cpu.read(), run["requests"])
        if threads is not None:  # one process: its event loop and request threads apart
            loop, request_threads = thread_cpu_us_each(self.main_pid, threads, run["requests"])
            run |= {"cpu_us_event_loop": round(loop), "cpu_us_request_threads": round(request_threads)}
        return run


@contextmanager
def ours(config, url, services_core=SERVER_CORE, **settings):
    """`make run`'s web process in `config`, on a database `url` made for it; yields a Served.

    With Redis (a private redis-server) and PostgreSQL's backends pinned to `services_core`.
    `settings` go to the web process (WEB_WORKERS, with the core it gets as `core`).
    """
    _database, with_redis, _endpoints = CONFIGS[config]
    with ExitStack() as stack:
        if with_redis:
            redis = stack.enter_context(redis_server(services_core))
            settings["REDIS_URL"] = redis
        server_url, pid = stack.enter_context(web_server(database_url=url, **settings))
        postgres = None
        if url.startswith("postgres"):
            postgres = stack.enter_context(PostgresBackends(url, core=services_core))
        pids = web_pids(pid)
        cpu = ServerCPU(pids, postgres, redis.pid if with_redis else None)
        yield Served("make run", server_url, cpu, main_pid=pid if len(pids) == 1 else None)


def measure(config, served, options, compare=None):
    """Every endpoint of `config` on our server, and the name server's also on `compare` (a Served), in turns."""
    database, _with_redis, endpoints = CONFIGS[config]
    endpoints = endpoints or options.endpoints
    url = served.url
    ids = register_clients(url, options.clients)
    compare_ids = register_clients(compare.url, options.clients) if compare else []
    cookie = user_cookie(url)
    records = []
    with keepers(url, ids), keepers(compare.url, compare_ids) if compare else nullcontext():
        floor = None
        for endpoint, path, script, args in loads(ids, cookie):
            if endpoints and endpoint not in endpoints:
                continue
            servers = [(served, args)]
            if compare and endpoint in NAME_SERVER:
                servers.append((compare, compare_ids if endpoint == "PATCH /client" else args))
            runs = {server.name: [] for server, _ in servers}
            for _ in range(harness.RUNS):
                for server, server_args in servers:
                    run = server.run(path, script, options, server_args)
                    if endpoint in NAME_SERVER:
                        run["live_after"] = live_count(server.url)  # all 100 still live, or the map was smaller
                    runs[server.name].append(run)
            for name, server_runs in runs.items():
                mine = name == "make run"
                labels = {"config": config, "database": database, "server": name, "endpoint": endpoint}
                record = summary(server_runs, floor if mine else None, **labels, **cpu_medians(server_runs))
                records.append(record)
                if endpoint == FLOOR:
                    floor = record["requests_per_s"]
    return records


def cpu_medians(runs):
    """The median over the runs of each CPU figure (µs per request)."""
    keys = [key for key in runs[0] if key.startswith("cpu_us_")]
    return {f"{key}_median": statistics.median(run[key] for run in runs) for key in keys}


def compared(options):
    """The Go original (or any name server) at --compare, as a Served; its CPU with --compare-pid."""
    if not options.compare:
        return None
    cpu = ServerCPU([options.compare_pid]) if options.compare_pid else None
    return Served(options.compare, options.compare.rstrip("/"), cpu)


def add_options(parser):
    parser.add_argument("--compare", help="another name server's URL, measured alongside for GET/PATCH")
    parser.add_argument("--compare-pid", type=int, help="that server's process, to count its CPU per request")
    add_service_options(parser)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="one short run each, to see that it works (noisy)")
    parser.add_argument(
        "--services-core",
        default=SERVER_CORE,
        help="where PostgreSQL's backends and Redis run: the server core (default), or `any` to leave them unpinned",
    )


def services_core(options):
    return None if options.services_core == "any" else options.services_core


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    options = parser.parse_args()
    harness.quick(options)
    # --quick: the floor and the name server only, in every configuration.
    options.endpoints = (FLOOR, *NAME_SERVER) if options.quick else None
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian) or `brew install wrk`.")
    if options.compare_pid:
        cpu_seconds(options.compare_pid)  # fails now, not after the first configuration, if there is no such process
    usable = services(options)
    records = []
    for config in options.configs:
        database, with_redis, _endpoints = CONFIGS[config]
        if (database == "postgresql" and "postgresql" not in usable) or (with_redis and "redis" not in usable):
            continue
        with fresh_database(options.postgres if database == "postgresql" else "") as url:
            manage("shell", "-c", ROOMS, env=manage_env(url))
            with ours(config, url, services_core(options)) as served:
                records += measure(config, served, options, compared(options))
    save("http", records)


if __name__ == "__main__":
    main()
