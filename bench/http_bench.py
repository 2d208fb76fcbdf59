"""Every JSON endpoint under real HTTP load, beside the framework's floor (`GET /api/settings`).

Runs `wrk -t1 -c50 -d10s` (pinned to the load core) against the web process of `make run`
(started here on a fresh database, pinned to the server core), on SQLite and on
PostgreSQL where one answers at --postgres. The database holds 100 live clients, each
heartbeated once a second by a keeper thread on its own connection as the original Go
client does (every run checks all 100 are still live after it), and 10 rooms of 100
messages.

`--compare URL` measures another name server too (the Go original started by hand and
pinned to the server core, say) for `GET /clients` and `PATCH /client`, its runs
alternating with ours. Prints one JSON line per database, server and endpoint with the
median of 3 runs; results in bench/results/http.json.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import (
    LOAD_CORE,
    RUNS,
    emit,
    fresh_database,
    manage_env,
    median_of,
    pinned,
    save,
    thread_cpu_seconds,
    thread_cpu_us_each,
    web_server,
)
from tests.support import manage

WRK_DIR = Path(__file__).resolve().parent / "wrk"
FLOOR = "GET /api/settings"
NAME_SERVER = ("GET /clients", "PATCH /client")
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

    def beat(client_id):
        conn = connect(url)
        while not stop.wait(1.0):
            call(conn, "PATCH", "/client", {"id": client_id})

    threads = [threading.Thread(target=beat, args=(client_id,), daemon=True) for client_id in ids]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


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


def wrk(url, script, options, args=()):
    command = ["wrk", "-t1", f"-c{options.connections}", f"-d{options.duration}s", "-s", str(WRK_DIR / script), url]
    if args:
        command += ["--", *args]
    env = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR))
    output = subprocess.run(pinned(command, LOAD_CORE), env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def summary(runs, floor=None, **labels):
    record = {**labels, **median_of(runs, "requests_per_s", p99_ms_median=statistics.median(r["p99_ms"] for r in runs))}
    if "live_after" in runs[0]:
        record["live_after_runs"] = [run["live_after"] for run in runs]
    if floor:
        # How many floors one request of this endpoint costs (1.0: the framework alone).
        record["cost_in_floors"] = round(floor / record["requests_per_s"], 2)
    return emit(record)


def cpu_per_request(pid, before, requests):
    """The server's CPU µs per request on its event loop and its request threads since `before`.

    Whatever else the process did during the run is included (the keepers' 100 heartbeats
    a second), so it is an upper bound of each endpoint's own cost.
    """
    loop, threads = thread_cpu_us_each(pid, before, requests)
    return {"cpu_us_event_loop": round(loop), "cpu_us_request_threads": round(threads)}


def measure(database, url, pid, options, compare=None):
    ids = register_clients(url, options.clients)
    compare_ids = register_clients(compare, options.clients) if compare else []
    cookie = user_cookie(url)
    records = []
    with keepers(url, ids), keepers(compare, compare_ids) if compare else nullcontext():
        floor = None
        for endpoint, path, script, args in loads(ids, cookie):
            servers = [("make run", url, args)]
            if compare and endpoint in NAME_SERVER:
                servers.append((compare, compare, compare_ids if endpoint == "PATCH /client" else args))
            runs = {name: [] for name, _, _ in servers}
            for _ in range(RUNS):
                for name, base, server_args in servers:
                    before = thread_cpu_seconds(pid)
                    run = wrk(base + path, script, options, server_args)
                    if name == "make run":
                        run |= cpu_per_request(pid, before, run["requests"])
                    if endpoint in NAME_SERVER:
                        run["live_after"] = live_count(base)  # all 100 still live, or the map was smaller
                    runs[name].append(run)
            for name, server_runs in runs.items():
                ours = name == "make run"
                records.append(
                    summary(server_runs, floor if ours else None, database=database, server=name, endpoint=endpoint)
                )
                if endpoint == FLOOR:
                    floor = records[-1]["requests_per_s"]
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", help="another name server's URL, measured alongside for GET/PATCH")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/chatsite"),
        help="a PostgreSQL server (its URL with any database name); the bench creates its own database there",
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian) or `brew install wrk`.")
    records = []
    for database, engine_url in databases(options.postgres):
        with fresh_database(engine_url) as url:
            manage("shell", "-c", ROOMS, env=manage_env(url))
            with web_server(database_url=url) as (server_url, pid):
                compare = options.compare if database == "sqlite" else None
                records += measure(database, server_url, pid, options, compare)
    save("http", records)


def databases(postgres_url):
    yield "sqlite", ""
    import psycopg

    try:
        psycopg.connect(postgres_url.rpartition("/")[0] + "/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        print(f"# PostgreSQL at {postgres_url} does not answer, measured on SQLite only: {error}", flush=True)
        return
    yield "postgresql", postgres_url


if __name__ == "__main__":
    main()
