"""Chat fan-out against the limit probe, side by side; results in bench/results/chat.json.

Every figure is the median of RUNS runs of bench.chat_fanout, pinned to the load core,
with the server under test pinned to the server core. CPU per delivery is the server's
CPU time from the first message sent to the last received, over the deliveries (the
handshakes are not counted). The probe (bench.limit_probe) and the web process run at
the same time and are measured in turns, run by run, so they share the machine's mood.

- `probe`: the issue's loads (1,000 clients with 1 sender at 30 msg/s; 100 clients with
  10 senders sharing 400 msg/s) against the probe, `make run`'s web process (uvicorn)
  and `manage.py runserver` (daphne, the development server);
- `ceiling`: 1,000 clients at rising rates, probe and web process: the highest rate
  delivered in full and in time;
- `redis`: the issue's loads against one node with REDIS_URL set (every broadcast through Redis);
- `nodes`: one node against two nodes on Redis at 1,000 clients (the nodes on cores 0
  and 1; the load generator, and Redis, unpinned for both, so the comparison is like for like);
- `production`: the issue's loads against PostgreSQL + Redis + `WEB_WORKERS=2`, beside the
  probe: both workers, the private Redis and the PostgreSQL backends of the bench's
  database on the server core. CPU per delivery is the two workers' (and the process that
  started them), Redis's and PostgreSQL's apart; the ratio to the probe is the workers'
  over the probe's, and "all in" adds Redis's and PostgreSQL's.

`--quick`: one 3-second run of each, saved under bench/results/quick/. Scenarios that need
PostgreSQL or redis-server are left out, in one line, where they are missing.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from contextlib import contextmanager

from bench import harness
from bench.harness import (
    LOAD_CORE,
    ROOT,
    SERVER_CORE,
    PostgresBackends,
    add_service_options,
    emit,
    fresh_database,
    median_of,
    open_files_unlimited,
    pinned,
    redis_server,
    save,
    services,
    web_pids,
    web_server,
)
from tests.support import free_port, spawn, stop_process, wait_for_port

LOADS = {"1000 clients, 1 sender @ 30/s": (1000, 1, 30.0), "100 clients, 10 senders @ 400/s": (100, 10, 400.0)}
# Benchmarks may raise the per-connection rate limit (100 frames/s), and say so: at 400 msg/s
# from 10 senders each sends 40/s, within it; the ceiling's single sender needs more.
BENCH_LIMITS = {"WS_RATE_PER_SECOND": 1000, "WS_RATE_BURST": 1000}


@contextmanager
def limit_probe(core=SERVER_CORE):
    """bench.limit_probe pinned to `core`; yields (http url, pid)."""
    open_files_unlimited()
    port = free_port()
    process = spawn(pinned([sys.executable, "-m", "bench.limit_probe", str(port)], core), dict(os.environ))
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        stop_process(process)


def target(server, redis=None, database=None):
    """What one_run measures of a server started here ((url, pid)): its URL, its processes (a
    process and its WEB_WORKERS), and chat_fanout's options to count its Redis and PostgreSQL too."""
    url, pid = server
    counted = ["--redis-pid", str(redis.pid)] if redis else []
    if database and database.startswith("postgres"):
        counted += ["--postgres-database", database]
    return url, web_pids(pid), counted


def one_run(urls, pids, clients, senders, rate, duration, load_core=LOAD_CORE, counted=(), place=None):
    """One chat_fanout run pinned to `load_core` (or placed by `place`); its JSON result."""
    ws_urls = [url.replace("http", "ws", 1) for url in urls]
    command = [sys.executable, "-m", "bench.chat_fanout", *ws_urls, "--clients", str(clients)]
    command += ["--senders", str(senders), "--rate", str(rate), "--duration", str(duration)]
    command += [arg for pid in pids for arg in ("--server-pid", str(pid))] + list(counted)
    command = place(command) if place else pinned(command, load_core)
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if output.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({output.returncode}):\n{output.stderr[-3000:]}")
    harness.wait_until_quiet(pids)
    return json.loads(output.stdout.strip().splitlines()[-1])


def summary(runs, **labels):
    """The median run by deliveries/s, with every run's figures and the median CPU per delivery."""
    record = median_of(
        runs,
        "deliveries_per_s",
        lost=sum(run["lost"] for run in runs),
        duplicates=sum(run.get("duplicates", 0) for run in runs),
    )
    record["p99_ms_runs"] = [run["p99_ms"] for run in runs]
    for part in ("server", "redis", "postgres"):
        if f"{part}_us_per_delivery" in runs[0]:
            record[f"{part}_us_per_delivery_runs"] = [run[f"{part}_us_per_delivery"] for run in runs]
            record[f"{part}_us_per_delivery"] = statistics.median(record[f"{part}_us_per_delivery_runs"])
    return {**labels, **record}


def all_in(record):
    """CPU µs per delivery of the web processes, Redis and PostgreSQL together."""
    return sum(record.get(f"{part}_us_per_delivery", 0) for part in ("server", "redis", "postgres"))


def side_by_side(servers, clients_senders_rate, duration, **labels):
    """RUNS turns of the same load on each of `servers` ({name: target(...)}); a record per server."""
    runs = {name: [] for name in servers}
    for _ in range(harness.RUNS):
        for name, (url, pids, counted) in servers.items():
            runs[name].append(one_run([url], pids, *clients_senders_rate, duration, counted=counted))
    records = [summary(server_runs, server=name, **labels) for name, server_runs in runs.items()]
    probe = next((r["server_us_per_delivery"] for r in records if r["server"] == "probe"), None)
    for record in records:
        if probe:
            record["ratio_to_probe"] = round(record["server_us_per_delivery"] / probe, 2)
            if "redis_us_per_delivery" in record or "postgres_us_per_delivery" in record:
                record["ratio_to_probe_all_in"] = round(all_in(record) / probe, 2)
        emit(record)
    return records


def probe_comparison(duration):
    records = []
    with limit_probe() as probe, web_server("uvicorn", **BENCH_LIMITS) as web:
        servers = {"probe": target(probe), "uvicorn": target(web)}
        for name, load in LOADS.items():
            records += side_by_side(servers, load, duration, scenario="probe", load=name)
    with limit_probe() as probe, web_server("runserver", **BENCH_LIMITS) as dev:
        servers = {"probe": target(probe), "runserver": target(dev)}
        for name, load in LOADS.items():
            records += side_by_side(servers, load, duration, scenario="dev", load=name)
    return records


def ceiling(duration, rates):
    records = []
    with limit_probe() as probe, web_server("uvicorn", **BENCH_LIMITS) as web:
        servers = {"probe": target(probe), "uvicorn": target(web)}
        for rate in rates:
            load = (1000, 1, rate)
            name = f"1000 clients, 1 sender @ {rate:g}/s"
            records += side_by_side(servers, load, duration, scenario="ceiling", load=name)
    return records


def one_node_on_redis(duration):
    records = []
    with redis_server() as redis, web_server("uvicorn", REDIS_URL=redis, **BENCH_LIMITS) as web:
        for name, load in LOADS.items():
            runs = [one_run([web[0]], [web[1]], *load, duration) for _ in range(harness.RUNS)]
            records.append(emit(summary(runs, server="uvicorn", scenario="redis", load=name)))
    return records


def production(duration, postgres_url):
    """PostgreSQL + Redis + WEB_WORKERS=2 beside the probe; workers, Redis, PostgreSQL's backends on the server core."""
    records = []
    with (
        fresh_database(postgres_url) as database,
        redis_server(SERVER_CORE) as redis,
        PostgresBackends(database, core=SERVER_CORE),  # pins them; chat_fanout counts their CPU
        limit_probe() as probe,
        web_server("uvicorn", database_url=database, REDIS_URL=redis, WEB_WORKERS=2, **BENCH_LIMITS) as web,
    ):
        servers = {"probe": target(probe), "production": target(web, redis, database)}
        for name, load in LOADS.items():
            records += side_by_side(servers, load, duration, scenario="production", load=name, workers=2)
    return records


def nodes(duration, rate):
    records = []
    load = (1000, 1, rate)
    name = f"1000 clients, 1 sender @ {rate:g}/s"
    with redis_server() as redis, fresh_database() as database:
        settings = {"REDIS_URL": redis, "CHAT_NODES_GROUP": f"bench.{uuid.uuid4().hex}", **BENCH_LIMITS}
        with web_server("uvicorn", core="0", database_url=database, **settings) as first:
            runs = [one_run([first[0]], [first[1]], *load, duration, load_core=None) for _ in range(harness.RUNS)]
            records.append(emit(summary(runs, server="uvicorn", nodes=1, scenario="nodes", load=name)))
            with web_server("uvicorn", core="1", database_url=database, **settings) as second:
                urls, pids = [first[0], second[0]], [first[1], second[1]]
                runs = [one_run(urls, pids, *load, duration, load_core=None) for _ in range(harness.RUNS)]
                records.append(emit(summary(runs, server="uvicorn", nodes=2, scenario="nodes", load=name)))
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending per run")
    parser.add_argument("--ceiling-rates", type=float, nargs="+", default=[60.0, 90.0, 120.0])
    parser.add_argument("--nodes-rate", type=float, default=90.0, help="msg/s at 1,000 clients for 1 vs 2 nodes")
    parser.add_argument(
        "--only", nargs="+", choices=["probe", "ceiling", "redis", "nodes", "production"], help="these scenarios"
    )
    parser.add_argument("--quick", action="store_true", help="one short run each, to see that it works (noisy)")
    add_service_options(parser)
    options = parser.parse_args()
    harness.quick(options)
    usable = services(options)
    scenarios = {
        "probe": lambda: probe_comparison(options.duration),
        "ceiling": lambda: ceiling(options.duration, options.ceiling_rates),
        "redis": lambda: one_node_on_redis(options.duration) if "redis" in usable else [],
        "nodes": lambda: nodes(options.duration, options.nodes_rate) if "redis" in usable else [],
        "production": lambda: production(options.duration, options.postgres) if len(usable) == 2 else [],
    }
    chosen = options.only or scenarios
    records = [record for name, scenario in scenarios.items() if name in chosen for record in scenario()]
    if options.only and not options.quick:
        return  # a part of the scenarios: printed, not saved over the whole run's results
    save("chat", records)


if __name__ == "__main__":
    main()
