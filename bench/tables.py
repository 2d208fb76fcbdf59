"""Write the figure tables of bench/README.md from bench/results/, so no figure is typed by hand.

Each table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->` in the README;
this replaces what is between them. `make bench`, `make faults` and `make soak` call it
after saving their results; run `python -m bench.tables` after any of them by hand.
"""

import json
import re

from bench.harness import RESULTS, ROOT

README = ROOT / "bench" / "README.md"

# What each fault scenario shows, as its test asserts it; the figures come from the results.
FAULTS = {
    "redis restarted under two nodes": (
        "Redis `SIGKILL`ed under two web nodes serving a chat, restarted on the same port "
        "(`tests/messaging/test_redis_restart.py`)",
        "Clients keep their sockets. Messages sent during the outage are stored and reach the clients "
        "of the sender's node, not the other node's (they are in its history). channels-redis "
        "reconnects by itself; a message sent before the nodes have resubscribed reaches no live client.",
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
            f"| {run['deliveries_owed']:,} | {run['lost']} | {run.get('duplicates', 'not counted')} "
            f"| {run['closed_by_server']} | {run['rss_start_mb']} → {run['rss_end_mb']} MB ({run['rss_max_mb']}) "
            f"| +{run['growth_mb']} MB ({run['growth_pct']} %) |",
        ]
    )


def http():
    document = json.loads((RESULTS / "http.json").read_text())
    rows = [
        "| database | server | endpoint | requests/s (runs) | p50 | p99 (median) | cost in floors |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in document["records"]:
        runs = ", ".join(f"{value:,.0f}" for value in record["requests_per_s_runs"])
        server = "ours" if record["server"] == "make run" else "compared"
        rows.append(
            f"| {record['database']} | {server} | `{record['endpoint']}` | **{record['requests_per_s']:,.0f}** "
            f"({runs}) | {record['p50_ms']:.0f} ms | {record['p99_ms_median']:.0f} ms "
            f"| {record.get('cost_in_floors', '')} |"
        )
    return f"Measured {document['measured']}.\n\n" + "\n".join(rows)


def capacity():
    document = json.loads((RESULTS / "nameserver_capacity.json").read_text())
    rows = [
        "| server | clients | heartbeats/s | p50 | p99 | errors | live after | holds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in document["records"]:
        server = "ours" if record["server"] == "make run" else "compared"
        rows.append(
            f"| {server} | {record['clients']:,} | {record['heartbeats_per_s']:,} | {record['p50_ms']} ms "
            f"| {record['p99_ms']} ms | {record['errors']} | {record['live_after']:,} "
            f"| {'**yes**' if record['holds'] else 'no'} |"
        )
    return f"Measured {document['measured']}.\n\n" + "\n".join(rows)


TABLES = {"faults": faults, "soak": soak, "http": http, "capacity": capacity}


def main():
    text = README.read_text()
    for name, table in TABLES.items():
        pattern = re.compile(rf"(<!-- table:{name} -->).*?(<!-- /table:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"bench/README.md has no <!-- table:{name} --> ... <!-- /table:{name} --> block")
        text = pattern.sub(lambda match, table=table: f"{match.group(1)}\n{table()}\n{match.group(2)}", text)
    README.write_text(text)


if __name__ == "__main__":
    main()
