"""Write the figure tables of bench/README.md and docs/scaling.md from bench/results/, so no figure is typed by hand.

Each table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->` in its document;
this replaces what is between them. `make bench`, `make faults` and `make soak` call it
after saving their results; run `python -m bench.tables` after any of them by hand.
"""

import argparse
import json
import math
import re
from pathlib import Path

from bench.harness import RESULTS, ROOT

README = ROOT / "bench" / "README.md"
SCALING = ROOT / "docs" / "scaling.md"

# What each fault scenario shows, as its test asserts it; the figures come from the results.
FAULTS = {
    "redis restarted under two nodes": (
        "Redis `SIGKILL`ed under two web nodes serving a chat, restarted on the same port "
        "(`tests/messaging/test_redis_restart.py`)",
        "Clients keep their sockets. Messages sent during the outage are stored and reach the clients "
        "of the sender's node, not the other node's (they are in its history). Each node's broker "
        "reconnects every `CHAT_NODES_RECONNECT_INTERVAL`; a message sent before the nodes have resubscribed "
        "reaches no live client of the other node.",
    ),
    "redis restarted under two nodes: signaling": (
        "same, signaling (`/v1/connect`)",
        "A frame that cannot cross gets an `ERROR` frame; the socket stays open.",
    ),
    "web process SIGKILLed: chat nickname": (
        "web process `SIGKILL`ed: chat (`tests/messaging/test_dead_node.py`)",
        "The dead process's token nickname is free again once its heartbeat is older than "
        "`CHAT_SESSION_STALE_AFTER`, and is used on the other process.",
    ),
    "web process SIGKILLed: nane username": (
        "web process `SIGKILL`ed with a nane socket open (`tests/messaging/test_dead_node.py`)",
        "The dead process's nane username is free again once its heartbeat is older than "
        "`CHAT_SESSION_STALE_AFTER`, and is used on the other process.",
    ),
    "web process SIGKILLed: signaling user": (
        "web process `SIGKILL`ed: signaling (`tests/signaling/test_two_servers.py`)",
        "The user's active connection expires after `SIGNALING_STALE_AFTER`; it connects to the other process.",
    ),
    "contact replica 2 SIGKILLed mid-burst to replica 1": (
        "contact replica 2 `SIGKILL`ed in a burst of 10,000 updates to replica 1 of a 3-mesh, restarted "
        "(`tests/contacts/test_crash.py`)",
        "All three replicas list the same contacts, each with its last value.",
    ),
    "contact replica 1 SIGKILLed mid-burst to itself": (
        "contact replica 1 (the one written to) `SIGKILL`ed mid-burst, restarted",
        "Every acknowledged write (one followed by an answered ListAll) survives; writes in flight may "
        "be lost (the protocol has no acks); the three agree.",
    ),
    "contact replicas under hostile frames during a burst": (
        "a 10,000-update burst to replica 1 of a 3-mesh while each replica gets, 20 times, the poisoning "
        "frame (server handshake, clock 2³²−1) from 127.0.0.1 and from a stranger's address, and a peer's "
        "Update with clock 0xFFFFFFFF (`tests/contacts/test_hostile_faults.py`)",
        "Every hostile connection is closed and changes nothing; the burst is not cut; the three agree "
        "on every last value; the clocks stay at the writes' count.",
    ),
    "contact replica poisoned before the clock limit, restarted": (
        "replica 1's database given what the poisoning frame left before the limit existed (clock past "
        "2³², a write stamped past it), then restarted",
        "It refuses to start and names `--reset-clock`; started with it, it re-stamps the write, takes "
        "new writes and converges with the others.",
    ),
    "web process flooded with stalled connections": (
        "3,000 connections that send nothing and 300 that send 30 KB of a head and stop, against "
        "`manage.py uvicorn` with 2 s deadlines (`tests/chatsite/test_flood_faults.py`)",
        "`/healthz` answers throughout; every stalled connection is cut by the head deadline (408 for the "
        "partial heads); memory grows by the partial heads only.",
    ),
    "database write lock held by another process": (
        "a `BEGIN IMMEDIATE` held on the SQLite file by another process while a nane socket is open "
        "(`DATABASE_LOCK_TIMEOUT` 1 s)",
        "Writes answer `503` JSON after the lock timeout, `/readyz` says not ready, the nane post gets an "
        "error frame and its socket stays; after the lock is released the same socket posts again.",
    ),
    "SIGTERM web": (
        "`SIGTERM` to a web process with a nane, a token and a signaling socket open "
        "(`tests/chatsite/test_sigterm.py`)",
        "Every socket gets a close frame, the consumers' disconnect handlers run (nickname and "
        "signaling user free at once), exit code 0, no traceback.",
    ),
    "SIGTERM": (
        "`SIGTERM` to a worker process (`tests/chatsite/test_sigterm.py`, `tests/contacts/test_shutdown.py`)",
        "Exit code 0, no traceback.",
    ),
}


def fault_row(record):
    scenario = record["scenario"]
    key = max((name for name in FAULTS if scenario.startswith(name)), key=len, default=None)
    where, what = FAULTS.get(key, (scenario, ""))
    figures = "; ".join(f"{name}: {value}" for name, value in record.items() if name != "scenario")
    return f"| {scenario} | {where} | {what} | {figures} |"


def faults():
    records = [json.loads(line) for line in (RESULTS / "faults.jsonl").read_text().splitlines() if line]
    return "\n".join(
        [
            "| scenario | where | what happened | figures |",
            "|---|---|---|---|",
            *(fault_row(record) for record in records),
        ]
    )


def soak():
    run = json.loads((RESULTS / "soak.json").read_text())
    return "\n".join(
        [
            "| clients | duration | reconnects | messages | deliveries owed | lost | duplicates "
            "| closed by the server | RSS connected → end (max) | growth |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {run['clients']:,} | {run['duration_s']:.0f} s | {run['reconnects']:,} | {run['messages_sent']:,} "
            f"| {run['deliveries_owed']:,} | {run['lost']} | {duplicates(run)} "
            f"| {run['closed_by_server']} | {run['rss_start_mb']} → {run['rss_end_mb']} MB ({run['rss_max_mb']}) "
            f"| +{run['growth_mb']} MB ({run['growth_pct']} %) |",
        ]
    )


def results(name):
    return json.loads((RESULTS / f"{name}.json").read_text())


def measured(document, rows):
    return f"Measured {document['measured']}.\n\n" + "\n".join(rows)


def with_runs(value, runs=(), unit="", bold=False, scale=1, spec=None):
    """`value unit (run, run, run)`, each divided by `scale` and shown by `spec` (else to 2 decimals at most)."""
    shown = [f"{number / scale:{spec}}" if spec else f"{round(number / scale, 2):g}" for number in (value, *runs)]
    mark = "**" if bold else ""
    figure = f"{mark}{shown[0]}{unit}{mark}"
    return f"{figure} ({', '.join(shown[1:])})" if runs else figure


def latency(value, runs=(), bold=False):
    """A latency in ms, in s from 1,000 ms up, with its runs in the same unit."""
    if value >= 1000:
        return with_runs(value, runs, " s", bold, 1000, ".2f")
    return with_runs(value, runs, " ms", bold, spec=".1f")


def deliveries(record):
    return f"{record['deliveries_per_s']:,}"


def duplicates(*records):
    """Repeated frames, all told; results saved before chat_fanout counted them have none."""
    if all("duplicates" in record for record in records):
        return sum(record["duplicates"] for record in records)
    return "not counted"


def side(record):
    """Ours (the `make run` web process) or the server measured alongside it (the Go original)."""
    return "ours" if record["server"] == "make run" else "Go original"


# http_bench's configurations as the README names them; results saved before it had them name the database.
HTTP_CONFIGS = {
    "sqlite": "`make run` (SQLite)",
    "postgresql": "`DATABASE_URL` on PostgreSQL",
    "postgresql + redis": "PostgreSQL + `REDIS_URL`",
}


def http_config(record):
    config = record.get("config", record["database"])
    return HTTP_CONFIGS.get(config, config)


def request_cpu(record):
    """CPU µs a request: the web process (event loop + request threads), PostgreSQL's and Redis's, and the total."""
    if "cpu_us_event_loop" not in record:
        return f"{record['cpu_us_total_median']:.0f}" if "cpu_us_total_median" in record else ""
    loop, threads = record["cpu_us_event_loop"], record["cpu_us_request_threads"]
    parts = [f"{loop} + {threads}"]
    for part in ("postgres", "redis"):
        if f"cpu_us_{part}" in record:
            parts.append(f"{record[f'cpu_us_{part}']:.0f}")
    total = record.get("cpu_us_total", loop + threads)
    return " + ".join(parts) + f" = {total:.0f}"


def http():
    document = results("http")
    rows = [
        "| configuration | server | endpoint | requests/s (runs) | p50 | p99 (median) | cost in floors "
        "| CPU µs a request: event loop + request threads [+ PostgreSQL + Redis] = total |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in document["records"]:
        runs = ", ".join(f"{value:,.0f}" for value in record["requests_per_s_runs"])
        rows.append(
            f"| {http_config(record)} | {side(record)} | `{record['endpoint']}` | **{record['requests_per_s']:,.0f}** "
            f"({runs}) | {record['p50_ms']:.0f} ms | {record['p99_ms_median']:.0f} ms "
            f"| {record.get('cost_in_floors', '')} | {request_cpu(record)} |"
        )
    return measured(document, rows)


def turns(ours, theirs, key="requests_per_s_runs"):
    """The ratio ours / theirs of each turn (their runs alternated)."""
    return ", ".join(f"{mine / other:.2f}" for mine, other in zip(ours[key], theirs[key], strict=True))


def total_cpu(record):
    """CPU µs a request, all parts together (median of the runs), or "" where not counted."""
    value = record.get("cpu_us_total_median")
    return f"{value:.0f}" if value is not None else ""


def nameserver_vs_go():
    """Ours against the Go original, per configuration, for the name server's two endpoints."""
    document = results("http")
    records = [r for r in document["records"] if r["endpoint"] in ("GET /clients", "PATCH /client")]
    pairs = [
        (mine, theirs)
        for mine in records
        if mine["server"] == "make run"
        for theirs in records
        if theirs["server"] != "make run"
        and (theirs.get("config"), theirs["database"], theirs["endpoint"])
        == (mine.get("config"), mine["database"], mine["endpoint"])
    ]
    if not pairs:
        return measured(document, ["Not measured: `python -m bench.http_bench --compare URL` (see above)."])
    rows = [
        "| configuration | endpoint | ours requests/s | Go original requests/s | **ours / Go** (turns) "
        "| CPU µs a request, ours (all parts) | Go original |",
        "|---|---|---|---|---|---|---|",
    ]
    for mine, theirs in pairs:
        ratio = f"**{mine['requests_per_s'] / theirs['requests_per_s']:.2f}** ({turns(mine, theirs)})"
        if problem := unfair(mine) or unfair(theirs):
            ratio = f"not comparable: {problem}"
        rows.append(
            f"| {http_config(mine)} | `{mine['endpoint']}` | {mine['requests_per_s']:,.0f} "
            f"| {theirs['requests_per_s']:,.0f} | {ratio} | {total_cpu(mine)} | {total_cpu(theirs)} |"
        )
    return measured(document, rows)


def unfair(record):
    """Why a name-server run is no measure of the work asked for, if it is not: errors served, or clients lost."""
    if record.get("non_2xx"):
        return f"{record['server']} answered {record['non_2xx']:,} requests with an error"
    if record.get("live_after", 100) < 100:
        return f"{record['server']} kept {record['live_after']} of 100 clients live"
    return ""


def instructions():
    document = results("instructions")
    rows = ["| endpoint | instructions a request (request thread) |", "|---|---|"]
    rows += [f"| `{record['endpoint']}` | {record['instructions']:,} |" for record in document["records"]]
    return measured(document, rows)


def cold_start():
    document = results("cold_start")
    rows = ["| piece of a message's path | back to back | 1/30 s apart | × |", "|---|---|---|---|"]
    for record in document["records"]:
        piece = f"{record['piece']} ({record['database']})" if record["database"] else record["piece"]
        rows.append(f"| {piece} | {record['back to back']} µs | {record['1/30 s apart']} µs | **{record['ratio']}** |")
    return measured(document, rows)


def capacity():
    document = results("nameserver_capacity")
    rows = [
        "| server | clients | heartbeats/s | p50 | p99 | errors | live after | holds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in document["records"]:
        server = side(record)
        rows.append(
            f"| {server} | {record['clients']:,} | {record['heartbeats_per_s']:,} | {record['p50_ms']} ms "
            f"| {record['p99_ms']} ms | {record['errors']} | {record['live_after']:,} "
            f"| {'**yes**' if record['holds'] else 'no'} |"
        )
    held = {}
    for record in document["records"]:
        if record["holds"]:
            held[side(record)] = max(held.get(side(record), 0), record["clients"])
    most = "; ".join(f"{server} {clients:,}" for server, clients in held.items())
    return measured(document, rows) + f"\n\nThe most live clients one core held: {most}."


# chat_bench's servers as the README names them.
CHAT_SERVERS = {"probe": "probe", "uvicorn": "`make run`", "runserver": "runserver"}


def chat_scenario(document, scenario):
    return [record for record in document["records"] if record["scenario"] == scenario]


def chat_load(record):
    senders = record["senders"]
    return f"{record['clients']:,} clients, {senders} sender{'s' if senders > 1 else ''} @ {record['rate_per_s']:g}/s"


def by_load(records, server):
    """{load: record} of one server, in the order the bench ran the loads."""
    return {record["load"]: record for record in records if record["server"] == server}


def cpu(record, bold=False):
    return with_runs(record["server_us_per_delivery"], record["server_us_per_delivery_runs"], bold=bold)


def ratio(record, probe, bold=False):
    """The ratio of the medians to the probe's, with each turn's (the two ran turn by turn)."""
    pairs = [
        ours / floor
        for ours, floor in zip(record["server_us_per_delivery_runs"], probe["server_us_per_delivery_runs"], strict=True)
    ]
    mark = "**" if bold else ""
    return f"{mark}{record['ratio_to_probe']:.2f}{mark} ({', '.join(f'{pair:.2f}' for pair in pairs)})"


def chat():
    document = results("chat")
    probe, dev = chat_scenario(document, "probe"), chat_scenario(document, "dev")
    floors, ours = by_load(probe, "probe"), by_load(probe, "uvicorn")
    dev_floors, daphne = by_load(dev, "probe"), by_load(dev, "runserver")
    rows = [
        "| load | limit probe | `make run` (uvicorn) | × probe (turns) | `runserver` (daphne) | its probe "
        "| × its probe (turns) |",
        "|---|---|---|---|---|---|---|",
    ]
    for load, floor in floors.items():
        rows.append(
            f"| {chat_load(floor)} | {cpu(floor)} | {cpu(ours[load], True)} | {ratio(ours[load], floor, True)} "
            f"| {cpu(daphne[load])} | {cpu(dev_floors[load])} | {ratio(daphne[load], dev_floors[load])} |"
        )
    return measured(document, rows)


def chat_latency():
    document = results("chat")
    rows = [
        "| load | server | deliveries/s | p50 | p99 (3 runs) | lost | duplicates |",
        "|---|---|---|---|---|---|---|",
    ]
    served = [*chat_scenario(document, "probe"), *(r for r in chat_scenario(document, "dev") if r["server"] != "probe")]
    for load in dict.fromkeys(record["load"] for record in served):
        for record in (record for record in served if record["load"] == load):
            ours = record["server"] == "uvicorn"
            offered = record["rate_per_s"] * record["clients"]
            saturated = ", saturated" if record["deliveries_per_s"] < 0.95 * offered else ""
            rows.append(
                f"| {chat_load(record)} | {CHAT_SERVERS[record['server']]} | {deliveries(record)}{saturated} "
                f"| {latency(record['p50_ms'])} | {latency(record['p99_ms'], record['p99_ms_runs'], ours)} "
                f"| {record['lost']} | {duplicates(record)} |"
            )
    return measured(document, rows)


def both(pair, show):
    return " / ".join(str(show(record)) for record in pair)


def core_busy(record):
    """The share of its core the server used: CPU per delivery times deliveries per second."""
    return f"{record['server_us_per_delivery'] * record['deliveries_per_s'] / 1e4:.0f} %"


def chat_ceiling():
    document = results("chat")
    records = chat_scenario(document, "ceiling")
    floors, ours = by_load(records, "probe"), by_load(records, "uvicorn")
    rows = [
        "| load | probe µs/delivery | `make run` µs/delivery | × probe (turns) | deliveries/s | server core busy "
        "| p99 | lost (both) | duplicates (both) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for load, floor in floors.items():
        pair = (floor, ours[load])
        rows.append(
            f"| {chat_load(floor)} | {floor['server_us_per_delivery']:g} | {ours[load]['server_us_per_delivery']:g} "
            f"| {ratio(ours[load], floor)} | {both(pair, deliveries)} "
            f"| {both(pair, core_busy)} | {both(pair, lambda r: latency(r['p99_ms']))} "
            f"| {floor['lost'] + ours[load]['lost']} | {duplicates(*pair)} |"
        )
    return measured(document, [*rows, "", "Each pair of figures: probe / `make run`."])


def chat_rows(records, column, label):
    """A table of chat records, each under `label(record)`, with its runs' CPU and p99."""
    rows = [
        f"| {column} | load | server µs/delivery (3 runs) | deliveries/s | p99 (3 runs) | lost | duplicates |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in records:
        rows.append(
            f"| {label(record)} | {chat_load(record)} | {cpu(record)} | {deliveries(record)} "
            f"| {latency(record['p99_ms'], record['p99_ms_runs'])} | {record['lost']} | {duplicates(record)} |"
        )
    return rows


def chat_redis():
    """`make run` and the same with REDIS_URL set: what sending every broadcast through Redis adds."""
    document = results("chat")
    local = [record for record in chat_scenario(document, "probe") if record["server"] == "uvicorn"]
    rows = chat_rows(local, "one process", lambda r: "`make run`")
    rows += chat_rows(chat_scenario(document, "redis"), "one process", lambda r: "with `REDIS_URL`")[2:]
    return measured(document, rows)


def chat_nodes():
    document = results("chat")
    records = chat_scenario(document, "nodes")
    return measured(
        document, chat_rows(records, "nodes × clients", lambda r: f"{r['nodes']} × {r['clients'] // r['nodes']:,}")
    )


def chat_production():
    """PostgreSQL + Redis + WEB_WORKERS=2 beside the probe of the same run."""
    document = results("chat")
    records = chat_scenario(document, "production")
    if not records:
        return measured(document, ["Not measured in this run (it needs PostgreSQL and redis-server)."])
    floors, ours = by_load(records, "probe"), by_load(records, "production")
    rows = [
        "| load | limit probe | 2 workers µs/delivery | × probe (turns) | Redis µs | PostgreSQL µs "
        "| all in × probe | deliveries/s | p99 (runs) | lost | duplicates |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for load, floor in floors.items():
        mine = ours[load]
        rows.append(
            f"| {chat_load(floor)} | {cpu(floor)} | {cpu(mine, True)} | {ratio(mine, floor, True)} "
            f"| {mine.get('redis_us_per_delivery', '')} | {mine.get('postgres_us_per_delivery', '')} "
            f"| {mine.get('ratio_to_probe_all_in', '')} | {deliveries(mine)} "
            f"| {latency(mine['p99_ms'], mine['p99_ms_runs'])} | {mine['lost']} | {duplicates(mine)} |"
        )
    return measured(document, rows)


def scaling_workers(name="scaling"):
    """bench/scaling.py: capacity per setup, and its ratio to one worker on one core."""
    document = results(name)
    rows = [
        "| workload | setup | served/s (runs) | server cores busy: web + PostgreSQL + Redis = total "
        "| load generator cores | server µs a unit | capacity/s (cores ÷ µs a unit) | **capacity × one worker** "
        "| served × one worker | other processes' cores | errors or lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for record in document["records"]:
        parts = " + ".join(f"{record[f'server_cores_{part}']:.2f}" for part in ("web", "postgres", "redis"))
        versus = record.get("capacity_vs_one_worker")
        rows.append(
            f"| {record['workload']} | {record['setup']} "
            f"| {with_runs(record['rate_per_s_median'], record['rate_per_s_runs'], spec=',.0f')} "
            f"| {parts} = {record['server_cores_total']:.2f} | {record['load_cores']:.2f} "
            f"| {record['server_us_per_unit']:g} | {record['capacity_per_s']:,} "
            f"| {f'**{versus:.2f}**' if versus else ''} | {record.get('rate_vs_one_worker', '')} "
            f"| {record.get('others', '')} | {record.get('errors', record.get('lost', ''))} |"
        )
    return measured(document, rows)


def memory():
    document = results("memory")
    rows = [
        "| server | connections (open at the end) | connected in | RSS before → held | per connection |",
        "|---|---|---|---|---|",
    ]
    servers = {"uvicorn": "`make run` (uvicorn)", "runserver": "`runserver` (daphne)"}
    for record in document["records"]:
        rows.append(
            f"| {servers.get(record['server'], record['server'])} | {record['connections']:,} "
            f"({record['open_at_end']:,}) | {record['connect_s']} s "
            f"| {record['rss_before_mb']} → {record['rss_held_mb']} MB | **{record['kb_per_connection']} KB** |"
        )
    return measured(document, rows)


def exactness(exact):
    return "exact" if exact else "**not exact**"


def compared_errors(record, contacts):
    """How many contacts the compared replica lost or got wrong, run by run."""
    lost, wrong = record["theirs_lost"], record["theirs_wrong"]
    if not any(lost) and not any(wrong):
        return "exact"
    errors = [f"**{', '.join(map(str, wrong))} of {contacts:,} contacts wrong**"] if any(wrong) else []
    return ", ".join([*errors, *([f"{', '.join(map(str, lost))} lost"] if any(lost) else [])])


def list_all(record):
    """ListAll's median (max), or how far it got when the replica stopped answering."""
    if "max" not in record:
        return f"no answer after {record['answered']}: {record['error']}"
    return f"**{record['value']:.1f} ms** ({record['max']:.0f} ms)"


def contacts():
    document = results("contacts")
    metrics = {record["metric"]: record for record in document["records"]}
    rows = ["| metric | ours | Go original |", "|---|---|---|"]
    compared = metrics.get("contacts_updates_per_second_vs_compared")
    if compared:
        updates = compared["updates"] // 2
        ours = with_runs(compared["ours"], compared["ours_runs"], bold=True, spec=",.0f")
        theirs = with_runs(compared["theirs"], compared["theirs_runs"], spec=",.0f")
        rows += [
            f"| updates/s, one client, one replica without peers, alternating with the Go original "
            f"| {ours}, {exactness(compared['ours_exact'])} | {theirs}, {compared_errors(compared, updates)} |",
            f"| ratio ours / Go original | **{compared['value']:.2f}** | |",
        ]
    for metric, what in (
        ("contacts_updates_per_second_no_peers", "updates/s, one client, one replica without peers, on its own"),
        ("contacts_updates_per_second", "updates/s to replica 1 of the 3-mesh (the two peers store each update too)"),
    ):
        if record := metrics.get(metric):
            rate = with_runs(record["value"], record["runs"], spec=",.0f")
            rows.append(f"| {what} | {rate}, {exactness(record['exact'])} | |")
    if (record := metrics.get("contacts_updates_per_second_no_peers")) and "cpu_us_event_loop" in record:
        loop, threads = record["cpu_us_event_loop"], record["cpu_us_other_threads"]
        rows.append(
            "| CPU µs an update, the replica without peers: event loop + its other threads "
            f"| {loop:.2f} + {threads:.2f} = {loop + threads:.2f} | |"
        )
    for metric, what in (
        ("contacts_store_cpu_us_per_row_sqlite", "SQLite alone: the upsert and clock save on the driver"),
        ("contacts_store_cpu_us_per_row_store_writes", "the replica's storing function (`store_writes`)"),
    ):
        if record := metrics.get(metric):
            rows.append(f"| CPU µs a row to store the same stream, {what} | {record['value']:.2f} | |")
    for metric, where in (
        ("contacts_list_all_10k_ms", "replica 1 of the 3-mesh"),
        ("contacts_list_all_10k_ms_no_peers", "the replica without peers"),
    ):
        if record := metrics.get(metric):
            times = f"median of {record['runs']}" if "runs" in record else "median"
            rows.append(
                f"| ListAll of {record.get('listed', 10_000):,} contacts on {where}, {times} (max) "
                f"| {list_all(record)} | {'not measured' if compared else ''} |"
            )
    if record := metrics.get("contacts_convergence_ms"):
        every = f", one change every {record['interval_ms']:g} ms" if "interval_ms" in record else ""
        rows.append(
            f"| a change at replica 1 listed by replicas 2 and 3{every}, p50 / p99 of {record['samples']} "
            f"| {record['p50']:.1f} / **{record['p99']:.1f} ms** | |"
        )
    return measured(document, rows)


def span(values, spec=".2f"):
    """The range of `values`, low to high with an en dash (one figure when they agree)."""
    low, high = f"{min(values):{spec}}", f"{max(values):{spec}}"
    return low if low == high else f"{low}–{high}"


def redis_share(chat):
    """The pub/sub records, and what Redis adds per broadcast and process (µs): per delivery, times the receivers.

    The two sides ran minutes apart, so a difference can come out below zero; it counts as none.
    """
    pubsub = [r for r in chat if r["scenario"] == "redis"]
    local = by_load([r for r in chat if r["scenario"] == "probe"], "uvicorn")
    redis_us = [
        max(0.0, r["server_us_per_delivery"] - local[r["load"]]["server_us_per_delivery"]) * r["clients"]
        for r in pubsub
        if r["load"] in local
    ]
    return pubsub, redis_us


def redis_share_text(redis_us):
    """Redis's share per broadcast in words: a range, or that this run could not tell it from noise."""
    if max(redis_us) == 0:
        return "not above this run's noise (Redis cost no more than one process alone)"
    return f"{span(redis_us, ',.0f')} µs"


def heartbeats_per_core():
    """{database: PATCH /client requests/s} of `make run` with only `DATABASE_URL` set (not the Redis configuration)."""
    return {
        r["database"]: r["requests_per_s"]
        for r in results("http")["records"]
        if r["server"] == "make run"
        and r["endpoint"] == "PATCH /client"
        and r.get("config", r["database"]) == r["database"]
    }


def scaling():
    """The per-process figures docs/scaling.md does its arithmetic on."""
    chat = results("chat")["records"]
    local = [r for r in chat if r["server"] == "uvicorn" and r["scenario"] in ("probe", "ceiling")]
    fastest = max(local, key=lambda record: record["deliveries_per_s"])
    pubsub, redis_us = redis_share(chat)
    nodes = {record["nodes"]: record for record in chat if record["scenario"] == "nodes"}
    sockets = next(r for r in results("memory")["records"] if r["server"] == "uvicorn")
    patch = heartbeats_per_core()
    rows = [
        "| figure | value | source |",
        "|---|---|---|",
        f"| server CPU per chat delivery, one process | {span([r['server_us_per_delivery'] for r in local])} µs "
        f"({deliveries(fastest)} deliveries/s at {core_busy(fastest)} of a core) | `chat.json` |",
        f"| the same through Redis pub/sub, one process | {span([r['server_us_per_delivery'] for r in pubsub])} µs "
        "| `chat.json` |",
        "| one node and two nodes on one Redis, the same load | "
        + " and ".join(f"{record['server_us_per_delivery']} µs" for _, record in sorted(nodes.items()))
        + " per delivery | `chat.json` |",
        "| Redis's share per *broadcast* and process (the pub/sub difference × receivers) "
        f"| {redis_share_text(redis_us)} | `chat.json` |",
        f"| memory per idle WebSocket | {sockets['kb_per_connection']} KB ({sockets['connections']:,} sockets: "
        f"{sockets['rss_before_mb']} → {sockets['rss_held_mb']} MB) | `memory.json` |",
        f"| WebSocket handshakes | {sockets['connections']:,} in {sockets['connect_s']} s, "
        f"{sockets['connections'] / sockets['connect_s']:,.0f}/s per process | `memory.json` |",
        "| name-server heartbeats (`PATCH /client`, 100 live clients) | "
        + ", ".join(f"{rate:,.0f}/s per core on {database}" for database, rate in patch.items())
        + " | `http.json` |",
    ]
    return "\n".join(rows)


# docs/scaling.md's assumptions (not measurements): its "Assumptions" section says why.
MESSAGES_PER_USER_PER_S = 1 / 60
ROOM_LISTENERS = 50
SOCKETS_PER_PROCESS = 20_000
CORE_BUSY = 0.6
NODE_CORES = 8
PLAN_USERS = (100_000, 1_000_000)
NAMESERVER_CLIENTS = 100_000
MAP_ENTRY_BYTES = 125
BROADCASTS_PER_PROCESS_S = 100


def planning_figures():
    """The measured figures docs/scaling.md plans with, rounded up so the plan errs on the safe side."""
    chat = results("chat")["records"]
    pubsub, redis_us = redis_share(chat)
    sockets = next(r for r in results("memory")["records"] if r["server"] == "uvicorn")
    patch = heartbeats_per_core()
    return {
        "us_per_delivery": math.ceil(max(r["server_us_per_delivery"] for r in pubsub)),
        "redis_us": (min(redis_us), max(redis_us)),
        "kb_per_socket": math.ceil(sockets["kb_per_connection"]),
        "mb_per_process": math.ceil(sockets["rss_before_mb"]),
        "handshakes_per_s": math.floor(sockets["connections"] / sockets["connect_s"]),
        "heartbeats_per_core": patch,
    }


def scaling_plan():
    """docs/scaling.md's arithmetic for 100,000 and 1,000,000 chat users and 100,000 name-server clients."""
    f = planning_figures()
    rows = [
        f"Planning figures, from the table above: {f['us_per_delivery']} µs of CPU per delivery (the Redis "
        f"figure, rounded up), {f['kb_per_socket']} KB per socket plus {f['mb_per_process']} MB per process, "
        f"{f['handshakes_per_s']:,} handshakes a second per process; cores kept {CORE_BUSY:.0%} busy, at most "
        f"{SOCKETS_PER_PROCESS:,} sockets per process, nodes of {NODE_CORES} cores.",
        "",
        "| | " + " | ".join(f"{users:,} users, token dialect" for users in PLAN_USERS) + " | "
        f"{PLAN_USERS[0]:,} users, nane dialect |",
        "|---|---|---|---|",
    ]
    plans = [plan(users, ROOM_LISTENERS, f) for users in PLAN_USERS] + [plan(PLAN_USERS[0], PLAN_USERS[0], f)]
    for label in plans[0]:
        rows.append(f"| {label} | " + " | ".join(p[label] for p in plans) + " |")
    low, high = f["redis_us"]
    broadcasts = PLAN_USERS[1] // SOCKETS_PER_PROCESS * BROADCASTS_PER_PROCESS_S
    receiving = (
        f"at Redis's {low:,.0f}–{high:,.0f} µs per broadcast {broadcasts * low / 1e6:.1f}–"
        f"{broadcasts * high / 1e6:.1f} cores per process just to receive them"
        if high
        else "what Redis adds to each was not above this run's noise, so measure it at that scale before planning on it"
    )
    rows += [
        "",
        f"Every process receives every broadcast: at {BROADCASTS_PER_PROCESS_S} broadcasts a second from each of "
        f"{PLAN_USERS[1] // SOCKETS_PER_PROCESS} processes that is {broadcasts:,} a second, and {receiving}.",
    ]
    rows += ["", *nameserver_plan(f)]
    return "\n".join(rows)


def plan(users, listeners, f):
    messages = users * MESSAGES_PER_USER_PER_S
    deliveries = messages * listeners
    cores = deliveries * f["us_per_delivery"] / 1e6
    by_sockets = math.ceil(users / SOCKETS_PER_PROCESS)
    by_cpu = math.ceil(cores / CORE_BUSY)
    processes = max(by_sockets, by_cpu)
    memory_gb = users * f["kb_per_socket"] / 1e6 + processes * f["mb_per_process"] / 1000
    restart_s = users / (processes * f["handshakes_per_s"])
    return {
        "messages/s": f"{messages:,.0f}",
        "deliveries/s": f"{messages:,.0f} × {listeners:,} = {deliveries:,.0f}",
        "fan-out CPU": f"{cores:,.1f} cores",
        "processes for the sockets / for the CPU": f"{by_sockets:,} / {by_cpu:,}",
        "**web processes**": f"**{processes:,}** on {nodes(processes)}",
        "memory": f"{memory_gb:,.1f} GB",
        "handshakes after a full restart": f"{restart_s:,.1f} s",
    }


def nodes(processes):
    count = math.ceil(processes / NODE_CORES)
    return f"{count:,} node{'' if count == 1 else 's'}"


def nameserver_plan(f):
    map_mb = NAMESERVER_CLIENTS * MAP_ENTRY_BYTES / 1e6
    answers_tb = NAMESERVER_CLIENTS * map_mb / 1e6
    ten_gbit_clients = math.floor(math.sqrt(1.25e9 / MAP_ENTRY_BYTES))
    postgres = f["heartbeats_per_core"].get("postgresql")
    lines = [
        f"{NAMESERVER_CLIENTS:,} name-server clients heartbeating every second: a live map of {map_mb:,.1f} MB "
        f"({MAP_ENTRY_BYTES} bytes an entry) in every answer, {answers_tb:,.2f} TB of answers a second; a 10 Gbit/s "
        f"card carries the answers of about {ten_gbit_clients:,} clients."
    ]
    if postgres:
        processes = math.ceil(NAMESERVER_CLIENTS / postgres)
        lines[0] += (
            f" With small answers, {NAMESERVER_CLIENTS:,} one-row updates a second at {postgres:,.0f} per core on "
            f"PostgreSQL take {processes:,} web processes ({nodes(processes)})."
        )
    return lines


DOCUMENTS = {
    README: {
        "faults": faults,
        "soak": soak,
        "http": http,
        "nameserver_vs_go": nameserver_vs_go,
        "capacity": capacity,
        "instructions": instructions,
        "chat": chat,
        "chat_latency": chat_latency,
        "chat_ceiling": chat_ceiling,
        "chat_redis": chat_redis,
        "chat_nodes": chat_nodes,
        "chat_production": chat_production,
        "cold_start": cold_start,
        "scaling_workers": scaling_workers,
        "scaling_per_core": lambda: scaling_workers("scaling_per_core"),
        "memory": memory,
        "contacts": contacts,
    },
    SCALING: {"scaling": scaling, "scaling_plan": scaling_plan},
}


def generated(table):
    """The table, or where a benchmark has not been run yet, which one to run."""
    try:
        return table()
    except FileNotFoundError as error:
        return f"Not measured yet: there is no bench/results/{Path(error.filename).name}."


def main():
    global RESULTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="read the results here (bench/results/quick, say)")
    parser.add_argument("--print", action="store_true", help="print the tables instead of writing them")
    parser.add_argument("--only", nargs="+", help="these tables (with --print)")
    options = parser.parse_args()
    RESULTS = options.results or RESULTS
    for document, tables in DOCUMENTS.items():
        text = document.read_text()
        for name, table in tables.items():
            if options.print:
                if options.only and name not in options.only:
                    continue
                try:
                    print(f"<!-- table:{name} -->\n{generated(table)}\n")
                except (KeyError, IndexError, StopIteration, ValueError) as error:  # a part of a run's results
                    print(f"<!-- table:{name} -->\nnot in these results ({error!r})\n")
                continue
            pattern = re.compile(rf"(<!-- table:{name} -->).*?(<!-- /table:{name} -->)", re.S)
            if not pattern.search(text):
                where = document.relative_to(ROOT)
                raise SystemExit(f"{where} has no <!-- table:{name} --> ... <!-- /table:{name} --> block")
            figures = generated(table)
            text = pattern.sub(lambda match, figures=figures: f"{match.group(1)}\n{figures}\n{match.group(2)}", text)
        if not options.print:
            document.write_text(text)


if __name__ == "__main__":
    main()
