"""Soak: 1,000 nane clients connecting, chatting and leaving in waves; memory and lost messages.

    python -m bench.soak [ws://127.0.0.1:8000 --pid PID] [--duration 600] [--clients 1000]

Without a URL it starts the `make run` web process (bench/harness.py) on a free port and
samples its RSS; with one it attaches to that server (pass --pid to sample its RSS).
Clients are in `--groups` groups; every `--wave` seconds one group leaves and connects
again, so every client cycles and about 1/groups of them is always new. Random connected
clients send `--rate` messages/s in total, each with its own id.

A message is owed to every client connected before it was sent; a leaving client first
waits (up to `--drain` s) for every message it is owed, so "still connected after" holds
by construction, and whatever has not arrived by then is lost; a message that arrives
twice counts as a duplicate. Prints a JSON line per
sample (every `--sample` s) and a summary, also written to bench/results/soak.json.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
import uuid

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.harness import RESULTS, rss_kib, web_server

ROOM = "soak"
# The soak's clients all come from 127.0.0.1 and send a few frames a second each.


def rss_mb(pid):
    """Resident memory of a process in MB (None when unknown)."""
    return None if pid is None else round(rss_kib(pid) / 1024, 1)


class Client:
    """One nane connection; `received[n]` marks message n (numbered from the first it is owed)."""

    def __init__(self, soak, slot):
        self.soak, self.slot = soak, slot
        self.ws = None
        self.first = 0
        self.received = bytearray()

    async def open(self):
        self.ws = await connect(
            f"{self.soak.url}/ws?username=soak-{self.slot}", ping_interval=None, max_size=None, open_timeout=60
        )
        self.first, self.received = self.soak.next_seq, bytearray()
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        prefix = f"{self.soak.run_id}-"
        try:
            async for frame in self.ws:
                message_id = json.loads(frame).get("id") or ""
                if message_id.startswith(prefix):
                    at = int(message_id[len(prefix) :]) - self.first
                    if at >= 0:
                        if at >= len(self.received):
                            self.received.extend(bytes(at + 1 - len(self.received)))
                        self.soak.duplicates += self.received[at]  # a second frame of one message
                        self.received[at] = 1
        except ConnectionClosed as closed:
            if self.soak.running and not self.soak.leaving.get(self.slot):
                self.soak.closed_by_server += 1
                print(json.dumps({"closed_by_server": self.slot, "code": closed.rcvd and closed.rcvd.code}))

    def missing(self, upto):
        """Messages owed (sent from `first` to `upto`, exclusive) that have not arrived."""
        owed = upto - self.first
        return owed - sum(self.received[:owed])

    async def leave(self, drain):
        """Wait (bounded) for every message owed so far, count what never came, close."""
        upto = self.soak.next_seq
        deadline = time.monotonic() + drain
        while self.missing(upto) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        lost = self.missing(upto)
        self.soak.owed += upto - self.first
        self.soak.lost += lost
        self.soak.leaving[self.slot] = True
        await self.ws.close()
        self.reader.cancel()
        self.soak.leaving[self.slot] = False
        return lost


class Soak:
    def __init__(self, url, clients, groups):
        self.url, self.run_id = url, uuid.uuid4().hex[:8]
        self.clients = [Client(self, slot) for slot in range(clients)]
        self.groups = [self.clients[g::groups] for g in range(groups)]
        self.connected = set()
        self.leaving = {}
        self.next_seq = 0
        self.owed = self.lost = self.duplicates = self.closed_by_server = self.reconnects = 0
        self.running = True

    async def open_all(self, clients, parallel=50):
        gate = asyncio.Semaphore(parallel)

        async def open_one(client):
            async with gate:
                await client.open()
                self.connected.add(client)

        await asyncio.gather(*(open_one(client) for client in clients))

    async def chat(self, rate):
        interval, began = 1.0 / rate, time.monotonic()
        while self.running:
            due = began + self.next_seq * interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            sender = random.choice(list(self.connected))
            message_id = f"{self.run_id}-{self.next_seq}"
            self.next_seq += 1
            # A sender closed by the server still owes the message: everyone will count it lost.
            with contextlib.suppress(ConnectionClosed):
                await sender.ws.send(json.dumps({"room": ROOM, "text": f"soak {message_id}", "id": message_id}))

    async def waves(self, wave, drain):
        for number in range(sys.maxsize):
            await asyncio.sleep(wave)
            if not self.running:
                return
            group = self.groups[number % len(self.groups)]
            self.connected.difference_update(group)
            await asyncio.gather(*(client.leave(drain) for client in group))
            await self.open_all(group)
            self.reconnects += len(group)


async def run(args, url, pid):
    soak = Soak(url, args.clients, args.groups)
    samples, began = [], time.monotonic()

    def sample(phase):
        record = {
            "t_s": round(time.monotonic() - began, 1),
            "phase": phase,
            "rss_mb": rss_mb(pid),
            "connected": len(soak.connected),
            "sent": soak.next_seq,
            "owed_settled": soak.owed,
            "lost": soak.lost,
        }
        samples.append(record)
        print(json.dumps(record), flush=True)

    sample("before clients")
    await soak.open_all(soak.clients)
    sample("connected")
    chatting = asyncio.create_task(soak.chat(args.rate))
    waving = asyncio.create_task(soak.waves(args.wave, args.drain))
    end = time.monotonic() + args.duration
    while time.monotonic() < end:
        await asyncio.sleep(min(args.sample, max(0.0, end - time.monotonic())))
        sample("soak")
    soak.running = False
    chatting.cancel()
    await asyncio.gather(chatting, waving, return_exceptions=True)
    present = [client for client in soak.clients if client in soak.connected]
    soak.connected.clear()
    await asyncio.gather(*(client.leave(args.drain) for client in present))
    await asyncio.sleep(2)  # let the server drop the closed consumers before the last sample
    sample("after clients")
    memory = [record["rss_mb"] for record in samples if record["rss_mb"] is not None]
    start, end_rss = samples[1]["rss_mb"], samples[-1]["rss_mb"]
    summary = {
        "summary": "soak",
        "server": url,
        "clients": args.clients,
        "duration_s": args.duration,
        "rate_per_s": args.rate,
        "reconnects": soak.reconnects,
        "messages_sent": soak.next_seq,
        "deliveries_owed": soak.owed,
        "deliveries": soak.owed - soak.lost,
        "lost": soak.lost,
        "duplicates": soak.duplicates,
        "closed_by_server": soak.closed_by_server,
    }
    if memory:
        summary |= {
            "rss_before_clients_mb": samples[0]["rss_mb"],
            "rss_start_mb": start,
            "rss_end_mb": end_rss,
            "rss_max_mb": max(memory),
            "growth_mb": round(end_rss - start, 1),
            "growth_pct": round(100 * (end_rss - start) / start, 1),
            "max_growth_mb": round(max(memory) - start, 1),
        }
    print(json.dumps(summary), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps({**summary, "samples": samples}, indent=1) + "\n")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="attach to this server (ws://...) instead of starting one")
    parser.add_argument("--pid", type=int, help="the attached server's process id, to sample its memory")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of soak (default 600)")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=5, help="one group leaves and comes back per wave")
    parser.add_argument("--wave", type=float, default=10.0, help="seconds between waves")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second, all senders together")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--drain", type=float, default=30.0, help="how long a leaving client waits for what it is owed")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})  # the load on one core, the server (pinned by the harness) on the other
    if args.url:
        summary = asyncio.run(run(args, args.url.rstrip("/").replace("http", "ws", 1), args.pid))
    else:
        with web_server() as (url, pid):
            summary = asyncio.run(run(args, url.replace("http", "ws", 1), pid))
    return 1 if summary["lost"] or summary["duplicates"] or summary["closed_by_server"] else 0


if __name__ == "__main__":
    sys.exit(main())
