"""Scaling across workers: `WEB_WORKERS=2` on two cores against one worker on one core.

All setups run the production configuration (PostgreSQL + a private Redis, harness
docstrings) and are measured in turns, run by run, with the same loads: the name server
(`wrk -t1 -c50` on `GET /clients` and `PATCH /client`, 100 live clients heartbeating) and
the chat (1,000 clients, 1 sender at --chat-rate).

- `1 worker, 1 core`: the web process, its PostgreSQL backends and Redis on core 0; the
  load on core 1, as every other benchmark here.
- `2 workers, 2 cores`: `WEB_WORKERS=2`, backends and Redis on both cores; the load on
  both too, one wrk per core with half the connections each.
- `2 nodes, 2 cores`: `make run-cluster`'s two web processes (Procfile.cluster) on one
  database and one Redis, all on both cores, the load as above and shared out between the
  nodes (wrk: one per node; chat: the clients round-robin).

The load runs at the server's priority. At the lowest (nice 19) it got almost nothing
while the server was busy, so the server waited for requests, took them a few at a time
and paid its fixed costs per request: starving the load generator made two cores look
worse than they are.

The machine has two cores, so a server on both leaves the load generator no core of its
own. Each run therefore reports what it served per second, how busy the server was in
cores (web processes, PostgreSQL's backends and Redis, counted as the other benchmarks
count them) and how busy the load generator was, and from these the setup's capacity:
its cores times the units it serves per second of server CPU, what it would serve with every
core its own. The ratio of capacities to one worker's is the scaling figure; the ratio of
the rates served is printed beside it. "Other processes" is what the rest of the
machine used meanwhile (from /proc/stat, less the server and the load): on a shared
machine it takes cores from the two-core setups' rates, not from their capacity.
The name server's load is `--connections` in all by default, so each of two workers
sees half of it and shares its per-cycle costs among fewer requests;
`--connections-per-core` loads each core as the one worker's is (bench/README.md).
Results in bench/results/scaling.json, or with `--connections-per-core` scaling_per_core.json;
`--quick`: one 3-second run, saved under bench/results/quick/.
"""

import argparse
import os
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from bench import harness
from bench.chat_bench import BENCH_LIMITS, one_run
from bench.harness import (
    BOTH_CORES,
    LOAD_CORE,
    SERVER_CORE,
    PostgresBackends,
    ServerCPU,
    add_service_options,
    cpu_seconds,
    emit,
    fresh_database,
    machine_cpu_seconds,
    median_of,
    pinned,
    redis_server,
    save,
    services,
    web_pids,
    web_server,
)
from bench.http_bench import children_cpu_seconds, keepers, live_count, register_clients, wrk

ONE_WORKER = "1 worker, 1 core"
NAME_SERVER = {"GET /clients": ("/clients", "get.lua"), "PATCH /client": ("/client", "heartbeat.lua")}


class Setup:
    """One configuration under test: its URLs, cores, processes, and where its load runs."""

    def __init__(self, name, cores, servers, postgres, redis, database, load_core):
        self.name, self.cores = name, cores
        self.urls = [url for url, _pid in servers]
        self.pids = [pid for _url, server_pid in servers for pid in web_pids(server_pid)]
        self.cpu = ServerCPU(self.pids, postgres, redis.pid)
        self.counted = ["--redis-pid", str(redis.pid), "--postgres-database", database]  # for chat_fanout
        self.load_core = load_core

    def place(self, command):
        """The load generator's command, on its core(s)."""
        return pinned(command, self.load_core)


def start(stack, name, options):
    """Start setup `name` in `stack` (its database, Redis, web processes); a Setup."""
    cores = BOTH_CORES if name != ONE_WORKER else SERVER_CORE
    tag = {"1 worker, 1 core": "scale1", "2 workers, 2 cores": "scale2", "2 nodes, 2 cores": "scale3"}[name]
    database = stack.enter_context(fresh_database(options.postgres, name=tag))
    redis = stack.enter_context(redis_server(cores))
    postgres = stack.enter_context(PostgresBackends(database, core=cores))
    settings = {"database_url": database, "core": cores, "REDIS_URL": redis, **BENCH_LIMITS}
    if name == "2 workers, 2 cores":
        servers = [stack.enter_context(web_server(WEB_WORKERS=2, **settings))]
    elif name == "2 nodes, 2 cores":
        servers = [stack.enter_context(web_server(**settings)) for _ in range(2)]
    else:
        servers = [stack.enter_context(web_server(**settings))]
    alone = name == ONE_WORKER  # the load has a core of its own
    return Setup(name, 1 if alone else 2, servers, postgres, redis, database, LOAD_CORE if alone else cores)


class Whole:
    """The machine's CPU, the server's and the load generator's over one run: what others used meanwhile."""

    def __init__(self, setup):
        self.setup = setup

    def __enter__(self):
        self.started, self.machine = time.monotonic(), machine_cpu_seconds()
        self.server, self.load = sum(self.setup.cpu.read().values()), children_cpu_seconds()
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.started
        server = sum(self.setup.cpu.read().values()) - self.server
        load = children_cpu_seconds() - self.load
        self.others_cores = round((machine_cpu_seconds() - self.machine - server - load) / wall, 2)


def figures(setup, rate, per_unit, load_cpu_s, window_s, **extra):
    """A run's figures: rate served, cores busy (server parts, load), µs per unit and the capacity they imply."""
    total = per_unit["total"]
    busy = {f"server_cores_{part}": round(us * rate / 1e6, 3) for part, us in per_unit.items()}
    return {
        "rate_per_s": round(rate),
        **busy,
        "load_cores": round(load_cpu_s / window_s, 3),
        "server_us_per_unit": round(total, 2),
        **{f"server_us_{part}": round(us, 2) for part, us in per_unit.items() if part != "total"},
        "capacity_per_s": round(setup.cores * 1e6 / total) if total else None,
        **extra,
    }


def web_shares(setup, before):
    """Each web process's share of the web CPU since `before` ({pid: seconds}): were all workers busy?"""
    used = {pid: cpu_seconds(pid) - seconds for pid, seconds in before.items()}
    whole = sum(used.values()) or 1
    return [round(used[pid] / whole, 2) for pid in setup.pids]


def name_server_run(setup, endpoint, ids, options):
    """wrk on one endpoint: one per core of the setup, the connections and the nodes shared out among them."""
    path, script = NAME_SERVER[endpoint]
    args = ids if endpoint == "PATCH /client" else ()
    targets = [setup.urls[i % len(setup.urls)] for i in range(setup.cores)]
    total = options.connections_per_core * setup.cores if options.connections_per_core else options.connections
    connections = max(1, total // len(targets))
    before, each_before = setup.cpu.read(), {pid: cpu_seconds(pid) for pid in setup.pids}
    load_before = children_cpu_seconds()
    with Whole(setup) as whole, ThreadPoolExecutor(len(targets)) as pool:
        runs = list(
            pool.map(
                lambda url: wrk(url + path, script, options, args, place=setup.place, connections=connections),
                targets,
            )
        )
    load_cpu_s = children_cpu_seconds() - load_before
    requests = sum(run["requests"] for run in runs)
    window = max(run["duration_s"] for run in runs)
    per_unit = {
        key.removeprefix("cpu_us_"): value for key, value in ServerCPU.each(before, setup.cpu.read(), requests).items()
    }
    errors = sum(run["socket_errors"] + run["non_2xx"] for run in runs)
    extra = {"errors": errors, "web_shares": web_shares(setup, each_before), "others": whole.others_cores}
    return figures(setup, requests / window, per_unit, load_cpu_s, window, **extra)


def chat_run(setup, rate, options):
    with Whole(setup) as whole:
        run = one_run(setup.urls, setup.pids, 1000, 1, rate, options.duration, counted=setup.counted, place=setup.place)
    parts = {"web": run["server_us_per_delivery"]}
    parts |= {part: run[f"{part}_us_per_delivery"] for part in ("redis", "postgres")}
    parts["total"] = sum(parts.values())
    extra = {"lost": run["lost"], "others": whole.others_cores}
    return figures(setup, run["deliveries_per_s"], parts, run["load_cpu_s"], run["window_s"], **extra)


def turn(setup, options):
    """One run of every workload on `setup`: {workload: figures}."""
    results = {}
    ids = register_clients(setup.urls[0], options.clients)  # new clients each turn: the last turn's have expired
    with keepers(setup.urls[0], ids):
        for endpoint in NAME_SERVER:
            results[endpoint] = name_server_run(setup, endpoint, ids, options)
            results[endpoint]["live_after"] = live_count(setup.urls[0])
    for rate in options.chat_rates:
        results[f"chat, 1,000 clients, 1 sender @ {rate:g}/s"] = chat_run(setup, rate, options)
    return results


def summary(setup, workload, runs, baseline):
    record = median_of(runs, "capacity_per_s", setup=setup.name, cores=setup.cores, workload=workload)
    record["rate_per_s_runs"] = [run["rate_per_s"] for run in runs]
    record["rate_per_s_median"] = statistics.median(record["rate_per_s_runs"])
    if baseline and setup.name != ONE_WORKER:
        record["capacity_vs_one_worker"] = round(record["capacity_per_s"] / baseline["capacity_per_s"], 2)
        record["rate_vs_one_worker"] = round(record["rate_per_s_median"] / baseline["rate_per_s_median"], 2)
    return emit(record)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_service_options(parser)
    parser.add_argument("--clients", type=int, default=100, help="live name-server clients")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--connections-per-core",
        type=int,
        help="wrk connections per core of each setup instead of --connections in all (each worker as loaded as one)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk and chat run")
    parser.add_argument(
        "--chat-rates", type=float, nargs="*", default=[90.0], help="msg/s at 1,000 clients (none: no chat runs)"
    )
    parser.add_argument("--setups", nargs="+", default=[ONE_WORKER, "2 workers, 2 cores", "2 nodes, 2 cores"])
    parser.add_argument("--quick", action="store_true", help="one short run each, to see that it works (noisy)")
    options = parser.parse_args()
    if options.connections < 1 or (options.connections_per_core is not None and options.connections_per_core < 1):
        parser.error("--connections and --connections-per-core take a count of at least 1")
    harness.quick(options)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian) or `brew install wrk`.")
    if len(services(options)) < 2:
        return
    if hasattr(os, "sched_setaffinity") and harness.two_cores():
        os.sched_setaffinity(0, {int(LOAD_CORE)})  # this process's keepers and samplers: not on the server's core
    with ExitStack() as stack:
        setups = [start(stack, name, options) for name in options.setups]
        time.sleep(1.0)  # let every process settle before the first turn
        runs = {setup.name: [] for setup in setups}
        for _ in range(harness.RUNS):
            for setup in setups:
                runs[setup.name].append(turn(setup, options))
    records = []
    for workload in runs[setups[0].name][0]:
        baseline = None
        for setup in setups:
            record = summary(setup, workload, [run[workload] for run in runs[setup.name]], baseline)
            baseline = baseline or (record if setup.name == ONE_WORKER else None)
            records.append(record)
    save("scaling_per_core" if options.connections_per_core else "scaling", records)


if __name__ == "__main__":
    main()
