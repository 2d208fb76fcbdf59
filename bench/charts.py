"""Draw bench/results/*.json as the PNG charts the README shows."""

import json

import matplotlib.pyplot as plt

from bench.harness import RESULTS

COLORS = {"runserver": "#1f77b4", "uvicorn": "#d62728"}


def load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["records"] if path.exists() else []


def chat_fanout(records):
    """Deliveries/s and p99 against clients (1 sender at 30 msg/s), one line per server."""
    fig, (rate, latency) = plt.subplots(1, 2, figsize=(10, 4))
    for server, color in COLORS.items():
        points = sorted(
            (r["clients"], r["deliveries_per_s"], r["p99_ms"])
            for r in records
            if r.get("server") == server and r.get("layer") == "in-memory" and r["senders"] == 1
        )
        if not points:
            continue
        clients, delivered, p99 = zip(*points, strict=True)
        label = "runserver (daphne)" if server == "runserver" else "uvicorn + uvloop"
        rate.plot(clients, delivered, "o-", color=color, label=label)
        latency.plot(clients, p99, "o-", color=color, label=label)
    rate.plot([10, 1000], [300, 30000], ":", color="grey", label="offered (clients × 30/s)")
    latency.axhline(150, linestyle="--", color="grey", label="target p99 150 ms")
    for axis, title in ((rate, "deliveries/s"), (latency, "p99 latency, ms")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("clients (1 sender, 30 msg/s)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    fig.suptitle("Chat fan-out, one server core, median of 3")
    fig.tight_layout()
    fig.savefig(RESULTS / "chat_fanout.png", dpi=110)


def chat_scenarios(records):
    """The other chat loads as bars: deliveries/s, with p99 and lost written on each."""
    bars = []
    for r in records:
        load = f"{r['clients']} cl, {r['senders']}×, {r['rate_per_s']:g}/s"
        if r.get("scenario") is None and r["senders"] == 10:
            bars.append((f"{r['server']}\n{load}", r))
        elif r.get("scenario") in ("ceiling", "layers"):
            bars.append((f"{r['server']} {r.get('layer', '')}\n{load}", r))
        elif r.get("scenario") == "nodes":
            bars.append((f"{r['nodes']} node{'s' * (r['nodes'] > 1)} on Redis\n{load}", r))
    if not bars:
        return
    fig, axis = plt.subplots(figsize=(max(8, 1.4 * len(bars)), 4.5))
    labels = [label for label, _ in bars]
    values = [r["deliveries_per_s"] for _, r in bars]
    axis.bar(range(len(bars)), values, color="#4c72b0")
    for n, (_, r) in enumerate(bars):
        axis.text(
            n, r["deliveries_per_s"], f"p99 {r['p99_ms']:g} ms\nlost {r['lost']}", ha="center", va="bottom", fontsize=7
        )
    axis.set_xticks(range(len(bars)), labels, fontsize=7)
    axis.set_ylabel("deliveries/s")
    axis.set_title("Chat: 10 senders, the highest rate, channel layers, two nodes (median of 3)")
    axis.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "chat_scenarios.png", dpi=110)


def nameserver(records):
    if not records:
        return
    fig, axis = plt.subplots(figsize=(7, 4))
    endpoints = ["GET /clients", "PATCH /client"]
    width = 0.38
    for offset, (server, color) in enumerate(COLORS.items()):
        values = [
            next((r["requests_per_s"] for r in records if r["server"] == server and r["endpoint"] == e), 0)
            for e in endpoints
        ]
        axis.bar([n + offset * width for n in range(2)], values, width, color=color, label=server)
    for n, target in enumerate((3600, 2800)):
        axis.hlines(target, n - width / 2, n + 1.5 * width, linestyles="--", color="grey")
    axis.set_xticks([n + width / 2 for n in range(2)], endpoints)
    axis.set_ylabel("requests/s (wrk -t1 -c50, 100 live clients)")
    axis.set_title("Name server, one server core, median of 3 (dashed: target)")
    axis.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "nameserver.png", dpi=110)


def main():
    chat = load("chat")
    chat_fanout(chat)
    chat_scenarios(chat)
    nameserver(load("nameserver"))


if __name__ == "__main__":
    main()
