"""Chat fan-out scenarios of issue 6, each the median of 3 runs; results in bench/results/chat.json.

- both servers (runserver's daphne, uvicorn) at 10, 100 and 1,000 clients with 1 sender at
  30 msg/s, and 100 clients with 10 senders sharing 400 msg/s;
- the highest zero-loss rate at 1,000 clients (uvicorn);
- the two channels-redis layers under the same loads (uvicorn, one node, REDIS_URL set);
- one node against two nodes on Redis at 1,000 clients (the nodes on cores 0 and 1; the
  load generator, and Redis, unpinned for both, so the comparison is like for like).
"""

import argparse
import json
import subprocess
import sys
import uuid

from bench.harness import (
    BENCH_SERVERS,
    LOAD_CORE,
    ROOT,
    RUNS,
    cpu_seconds,
    emit,
    fresh_database,
    median_of,
    pinned,
    redis_server,
    save,
    web_server,
)

SWEEP = [(10, 1, 30.0), (100, 1, 30.0), (1000, 1, 30.0), (100, 10, 400.0)]


def fanout(urls, pids, clients, senders, rate, duration, load_core=LOAD_CORE, **labels):
    """RUNS runs of bench.chat_fanout against `urls`; the median run, with every run's figures.

    Also the servers' CPU time per delivery over all runs (connecting the clients included),
    the figure PERF-NOTES compares servers by, and what several nodes add up.
    """
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    ws_urls = [url.replace("http", "ws", 1) for url in urls]
    command = [sys.executable, "-m", "bench.chat_fanout", *ws_urls, "--clients", str(clients)]
    command += ["--senders", str(senders), "--rate", str(rate), "--duration", str(duration)]
    runs = []
    for _ in range(RUNS):
        output = subprocess.run(pinned(command, load_core), cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    # Lost counts every run, not the median one: one lost message anywhere shows.
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    record = median_of(runs, "deliveries_per_s", lost=sum(run["lost"] for run in runs))
    record["p99_ms_runs"] = [run["p99_ms"] for run in runs]
    record["server_us_per_delivery"] = round(cpu * 1e6 / max(1, sum(run["received"] for run in runs)), 1)
    return emit({**labels, **record})


def sweep(server, duration):
    with web_server(server) as (url, pid):
        return [fanout([url], [pid], *load, duration, server=server, layer="in-memory") for load in SWEEP]


def ceiling(duration, rates):
    with web_server("uvicorn") as (url, pid):
        return [fanout([url], [pid], 1000, 1, rate, duration, server="uvicorn", scenario="ceiling") for rate in rates]


def layers(duration):
    records = []
    for layer in ("core", "pubsub"):
        with redis_server() as redis, web_server("uvicorn", REDIS_URL=redis, REDIS_LAYER=layer) as (url, pid):
            for load in (SWEEP[2], SWEEP[3]):
                records.append(fanout([url], [pid], *load, duration, server="uvicorn", layer=layer, scenario="layers"))
    return records


def nodes(duration, rate):
    records = []
    with redis_server() as redis, fresh_database() as database:
        settings = {"REDIS_URL": redis, "CHAT_NODES_GROUP": f"bench.{uuid.uuid4().hex}", "database_url": database}
        with web_server("uvicorn", core="0", **settings) as (first, first_pid):
            load = (1000, 1, rate, duration)
            records.append(
                fanout([first], [first_pid], *load, load_core=None, server="uvicorn", nodes=1, scenario="nodes")
            )
            with web_server("uvicorn", core="1", **settings) as (second, second_pid):
                records.append(
                    fanout(
                        [first, second],
                        [first_pid, second_pid],
                        *load,
                        load_core=None,
                        server="uvicorn",
                        nodes=2,
                        scenario="nodes",
                    )
                )
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending per run")
    parser.add_argument("--ceiling-rates", type=float, nargs="+", default=[60.0, 90.0])
    parser.add_argument("--nodes-rate", type=float, default=90.0, help="msg/s at 1,000 clients for 1 vs 2 nodes")
    options = parser.parse_args()
    records = []
    for server in BENCH_SERVERS:
        records += sweep(server, options.duration)
    records += ceiling(options.duration, options.ceiling_rates)
    records += layers(options.duration)
    records += nodes(options.duration, options.nodes_rate)
    save("chat", records)


if __name__ == "__main__":
    main()
