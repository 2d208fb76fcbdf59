"""Chat fan-out benchmark: N nane clients, S of them sending, every message to every client.

    python -m bench.chat_fanout [ws://127.0.0.1:8000 ...] --clients 10 100 1000 --senders 1 --rate 30

Prints one JSON line per run: connect time, deliveries/s, end-to-end latency p50/p99,
lost = messages a client never got (counted by message id per client, as bench.soak
does, so a duplicated frame cannot hide a lost one) and duplicates = frames of a message
a client had already got; either is a defect. Several URLs (the nodes of one
system) share the clients round-robin. With `--server-pid` (one per server process, same
machine) it also reports the servers' CPU time per delivery, counted from the first
message sent to the last received: the handshakes are not deliveries. `--redis-pid` and
`--postgres-database` add Redis's and the PostgreSQL backends' CPU in the same window,
apart (`redis_us_per_delivery`, `postgres_us_per_delivery`); `load_cpu_s` is this
client's own. `python -m bench.chat_bench` runs the issue's scenarios with this, pinned
to the load core.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from urllib.parse import quote

import uvloop

from bench.harness import PostgresBackends, ServerCPU, cpu_seconds
from bench.wsload import connect

ROOM = "bench"


class Client:
    """One nane client that counts the run's distinct messages it receives, how late they are,
    and the frames that repeat a message it already had."""

    def __init__(self, run_id):
        self.marker = f'"text":"{run_id} '.encode()
        self.seen, self.duplicates, self.errors, self.latencies = set(), 0, 0, []
        self.last_at = 0.0
        self.ws = None

    @property
    def received(self):
        """Distinct messages received."""
        return len(self.seen)

    def on_text(self, frame):
        now = time.time()
        start = frame.find(self.marker)
        if start < 0:
            self.errors += b'"error"' in frame
            return
        message_id, sent_ns = frame[start + len(self.marker) :].split(b" ", 2)[:2]  # "sender:seq", send time
        if message_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(message_id)
        self.latencies.append(now - int(sent_ns) / 1e9)
        self.last_at = now

    @property
    def closed(self):
        """The close code, if the server closed us mid-run."""
        return self.ws.close_code


async def open_clients(urls, count, run_id, parallel=100):
    """`count` clients spread round-robin over the servers at `urls`."""
    gate = asyncio.Semaphore(parallel)

    async def open_one(n):
        client = Client(run_id)
        async with gate:
            url = urls[n % len(urls)]
            client.ws = await connect(f"{url}/ws?username={quote(f'bench-{n}')}", client.on_text)
        return client

    return await asyncio.gather(*(open_one(n) for n in range(count)))


async def send_at_rate(client, rate, duration, sender_no, run_id, counter):
    interval, start = 1.0 / rate, time.monotonic()
    seq = 0
    while (due := start + seq * interval) < start + duration:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        text = f"{run_id} {sender_no}:{seq} {time.time_ns()} the quick brown fox"
        client.ws.send_text(json.dumps({"room": ROOM, "text": text}))
        seq += 1
        counter[0] += 1


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(urls, clients, senders, rate, duration, drain, server=None):
    """One run; `server` (a ServerCPU) counts the servers' CPU from the first message sent to the last received."""
    run_id = uuid.uuid4().hex[:8]
    began = time.monotonic()
    pool = await open_clients(urls, clients, run_id)
    connect_s = time.monotonic() - began
    await asyncio.sleep(0.5)  # let the servers finish the handshakes' work before counting
    sent = [0]
    cpu_before = server.read() if server else None
    load_before = cpu_seconds("self")
    first_send = time.time()
    await asyncio.gather(*(send_at_rate(pool[n], rate / senders, duration, n, run_id, sent) for n in range(senders)))
    expected = sent[0] * clients
    # Wait until everything arrived, or until nothing has arrived for `drain` seconds.
    last_progress, last_total = time.monotonic(), -1
    while True:
        total = sum(c.received for c in pool)
        if total >= expected:
            break
        if total != last_total:
            last_total, last_progress = total, time.monotonic()
        elif time.monotonic() - last_progress > drain:
            break
        await asyncio.sleep(0.1)
    cpu = server.read() if server else None
    load_cpu = cpu_seconds("self") - load_before
    received = sum(c.received for c in pool)
    last_at = max((c.last_at for c in pool), default=first_send)
    latencies = [x for c in pool for x in c.latencies]
    closed_by_server = dict(Counter(str(c.closed) for c in pool if c.closed is not None))
    await asyncio.gather(*(c.ws.close() for c in pool), return_exceptions=True)
    return {
        "servers": urls,
        "clients": clients,
        "senders": senders,
        "rate_per_s": rate,
        "duration_s": duration,
        "messages": sent[0],
        "connect_s": round(connect_s, 3),
        "expected": expected,
        "received": received,
        "lost": expected - received,
        "duplicates": sum(c.duplicates for c in pool),
        "errors": sum(c.errors for c in pool),
        "closed_by_server": closed_by_server,
        "deliveries_per_s": round(received / max(last_at - first_send, 1e-9)),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        "load_cpu_s": round(load_cpu, 3),
        "window_s": round(max(last_at - first_send, 1e-9), 3),
        **per_delivery(cpu_before, cpu, received),
    }


def per_delivery(before, after, received):
    """server_us_per_delivery (the web processes), and Redis's and PostgreSQL's apart where counted."""
    if before is None or not received:
        return {"server_us_per_delivery": None}
    each = ServerCPU.each(before, after, received, prefix="")
    names = {"web": "server_us_per_delivery", "redis": "redis_us_per_delivery", "postgres": "postgres_us_per_delivery"}
    return {name: each[part] for part, name in names.items() if part in each}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="*", default=["ws://127.0.0.1:8000"], help="one server, or the nodes of one")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second, all senders together")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending")
    parser.add_argument("--drain", type=float, default=15.0, help="give up after this long without progress")
    parser.add_argument("--server-pid", type=int, action="append", default=[], help="count this process's CPU")
    parser.add_argument("--redis-pid", type=int, help="count this Redis server's CPU too, apart")
    parser.add_argument("--postgres-database", help="count the CPU of the PostgreSQL backends of this database URL")
    args = parser.parse_args(argv)
    postgres = PostgresBackends(args.postgres_database) if args.postgres_database else None
    with postgres or nullcontext():
        server = ServerCPU(args.server_pid, postgres, args.redis_pid) if args.server_pid else None
        for clients in args.clients:
            senders = min(args.senders, clients)
            urls = [url.rstrip("/") for url in args.urls]
            result = uvloop.run(run(urls, clients, senders, args.rate, args.duration, args.drain, server))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
