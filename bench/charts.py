"""Draw bench/results/*.json as the PNG charts bench/README.md shows."""

import json

import matplotlib.pyplot as plt

from bench.harness import RESULTS


def load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["records"] if path.exists() else []


def chat_cost(records):
    """Server CPU per delivery for the chat loads: the probe, make run's web process, runserver."""
    rows = [r for r in records if r.get("scenario") in ("probe", "dev")]
    loads = list(dict.fromkeys(r["load"] for r in rows))
    servers = {"probe": "#7f7f7f", "uvicorn": "#d62728", "runserver": "#1f77b4"}
    if not loads:
        return
    fig, axis = plt.subplots(figsize=(8, 4.5))
    width = 0.27
    for offset, (server, color) in enumerate(servers.items()):
        # The probe ran twice per load (beside each server): show the run beside make run's.
        picked = [
            next((r for r in rows if r["load"] == load and r["server"] == server and r["scenario"] != "dev"), None)
            or next((r for r in rows if r["load"] == load and r["server"] == server), None)
            for load in loads
        ]
        xs = [n + (offset - 1) * width for n in range(len(loads))]
        values = [r["server_us_per_delivery"] if r else 0 for r in picked]
        axis.bar(xs, values, width, color=color, label="make run (uvicorn)" if server == "uvicorn" else server)
        for x, r in zip(xs, picked, strict=True):
            if r:
                label = f"{r['server_us_per_delivery']:g} µs\n×{r.get('ratio_to_probe', 1):g}\np99 {r['p99_ms']:g} ms"
                axis.text(x, r["server_us_per_delivery"], label, ha="center", va="bottom", fontsize=7)
    axis.set_ylim(0, 1.25 * max(r["server_us_per_delivery"] for r in rows))
    axis.set_xticks(range(len(loads)), loads, fontsize=8)
    axis.set_ylabel("server CPU µs per delivery (median of 3)")
    axis.set_title("Chat fan-out on one server core, side by side with the limit probe")
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "chat_cost.png", dpi=110)


def config(record):
    """http_bench's configuration; older results name the database."""
    return record.get("config", record["database"])


def http(records):
    """Requests/s of every JSON endpoint: make run in each configuration, and any server compared (its first)."""
    if not records:
        return
    endpoints = list(dict.fromkeys(r["endpoint"] for r in records))
    ours = list(dict.fromkeys((config(r), r["server"]) for r in records if r["server"] == "make run"))
    theirs = next(((config(r), r["server"]) for r in records if r["server"] != "make run"), None)
    series = ours + ([theirs] if theirs else [])
    fig, axis = plt.subplots(figsize=(9, 5))
    height = 0.8 / len(series)
    colors = ["#d62728", "#1f77b4", "#9467bd", "#2ca02c", "#ff7f0e"][: len(ours)] + (["#7f7f7f"] if theirs else [])
    for offset, ((name, server), color) in enumerate(zip(series, colors, strict=True)):
        picked = [
            next((r for r in records if (config(r), r["server"], r["endpoint"]) == (name, server, e)), None)
            for e in endpoints
        ]
        ys = [n + offset * height for n in range(len(endpoints))]
        label = f"make run, {name}" if server == "make run" else f"Go original (name server; beside {name})"
        axis.barh(ys, [r["requests_per_s"] if r else 0 for r in picked], height, color=color, label=label)
    axis.set_yticks([n + 0.4 - height / 2 for n in range(len(endpoints))], endpoints, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("requests/s, wrk -t1 -c50, median of 3 (100 live name-server clients)")
    axis.set_title("JSON endpoints on one server core")
    axis.grid(True, axis="x", alpha=0.3)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "http.png", dpi=110)


def contacts(records):
    """Updates/s (ours without peers, in the mesh, and any replica compared) and convergence p50/p99."""
    by_metric = {r["metric"]: r for r in records}
    if "contacts_updates_per_second_no_peers" not in by_metric:
        return
    bars = [("ours, no peers", by_metric["contacts_updates_per_second_no_peers"]["value"])]
    if "contacts_updates_per_second" in by_metric:
        bars.append(("ours, 3-mesh (2 cores, see README)", by_metric["contacts_updates_per_second"]["value"]))
    if compared := by_metric.get("contacts_updates_per_second_vs_compared"):
        bars += [("ours, no peers (alternating)", compared["ours"]), ("Go original, no peers", compared["theirs"])]
    fig, (rates, latency) = plt.subplots(1, 2, figsize=(10, 4))
    rates.barh([label for label, _ in bars], [value for _, value in bars], color="#1f77b4")
    rates.invert_yaxis()
    rates.xaxis.set_major_formatter(lambda value, _: f"{value / 1000:.0f}k")
    rates.set_xlabel("updates/s from one client, median of 3")
    rates.grid(True, axis="x", alpha=0.3)
    if convergence := by_metric.get("contacts_convergence_ms"):
        latency.bar(["p50", "p99"], [convergence["p50"], convergence["p99"]], color="#2ca02c")
        latency.set_ylabel("ms until replicas 2 and 3 list a change at 1")
    fig.suptitle("Contacts replica")
    fig.tight_layout()
    fig.savefig(RESULTS / "contacts.png", dpi=110)


def main():
    chat_cost(load("chat"))
    http(load("http"))
    contacts(load("contacts"))


if __name__ == "__main__":
    main()
