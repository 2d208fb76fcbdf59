"""Name server under real HTTP load: `GET /clients` and `PATCH /client` with 100 live clients.

Runs `wrk -t1 -cC -dDs` (pinned to the load core) against the web process of `make run`
under each server (started here on a fresh database, pinned to the server core), or
--url for a running one. While wrk runs, a keeper thread heartbeats every client once a
second, as the original Go client does, so all 100 stay live. Prints one JSON line per
server and endpoint with the median of 3 runs; results in bench/results/nameserver.json.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import BENCH_SERVERS, LOAD_CORE, RUNS, emit, median_of, pinned, save, web_server

WRK_DIR = Path(__file__).resolve().parent / "wrk"


def call(conn, method, path, body=None):
    conn.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def register_clients(host, port, count):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    body = {"ip": "10.0.0.1", "port": 7000}
    return [call(conn, "POST", "/client", {**body, "name": f"bench-{n}"})[1]["id"] for n in range(count)]


def keep_alive(host, port, ids, stop):
    """Heartbeat each client about once a second until `stop` is set.

    One connection per client: behind wrk's 50 connections a request waits ~100 ms, so
    100 heartbeats in a row would take longer than the 5 s TTL and the clients would expire.
    """

    def beat(client_id):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while not stop.wait(1.0):
            call(conn, "PATCH", "/client", {"id": client_id})

    return [threading.Thread(target=beat, args=(client_id,), daemon=True) for client_id in ids]


def live_count(host, port):
    return len(call(http.client.HTTPConnection(host, port, timeout=10), "GET", "/clients")[1])


def wrk(url, script, connections, duration, args=()):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(WRK_DIR / script), url]
    if args:
        command += ["--", *args]
    env = dict(os.environ, BENCH_WRK_DIR=str(WRK_DIR))
    output = subprocess.run(pinned(command, LOAD_CORE), env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(url, server, options):
    target = urlsplit(url)
    ids = register_clients(target.hostname, target.port, options.clients)
    stop = threading.Event()
    keepers = keep_alive(target.hostname, target.port, ids, stop)
    for keeper in keepers:
        keeper.start()
    records = []
    try:
        loads = [("GET /clients", "/clients", "get.lua", ()), ("PATCH /client", "/client", "heartbeat.lua", ids)]
        for endpoint, path, script, args in loads:
            runs = []
            for _ in range(RUNS):
                runs.append(wrk(url + path, script, options.connections, options.duration, args))
                # Every client must still be live, or the figures are of a smaller map.
                runs[-1]["live_after"] = live_count(target.hostname, target.port)
            p99 = statistics.median(run["p99_ms"] for run in runs)
            record = median_of(
                runs, "requests_per_s", p99_ms_median=p99, live_after_runs=[r["live_after"] for r in runs]
            )
            labels = {"server": server, "endpoint": endpoint, "live_clients": options.clients}
            records.append(emit({**labels, "connections": options.connections, **record}))
    finally:
        stop.set()
        for keeper in keepers:
            keeper.join()
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server; default: start the web process of `make run`")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian) or `brew install wrk`.")
    if options.url:
        measure(options.url, options.url, options)
        return
    records = []
    for server in BENCH_SERVERS:
        with web_server(server) as (url, _pid):
            records += measure(url, server, options)
    save("nameserver", records)


if __name__ == "__main__":
    main()
