"""How many live clients one core of the name server holds, each heartbeating once a second.

Every client of the name server sends `PATCH /client` once a second and gets the whole
live map back, so both the request rate and each answer grow with the number of clients.
This drives N clients at exactly that rate (client i at i/N of every second, on 64
keep-alive connections), for a growing N, and reports for each N the latency measured
from when the heartbeat was due (so a server that falls behind cannot hide it), the
errors, and whether all N were still live at the end. A server holds N when the p99 is
at most 100 ms, nothing failed and nobody expired.

The web process of `make run` is started here on a fresh SQLite database, pinned to the
server core; `--compare URL` measures another name server too (the Go original started by
hand and pinned to the server core), its steps alternating with ours. Results in
bench/results/nameserver_capacity.json.
"""

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit

from bench.harness import emit, fresh_database, save, web_server
from bench.http_bench import live_count, register_clients

CONNECTIONS = 64
P99_BOUND_MS = 100


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: a request at a time, the answer read by Content-Length."""

    def __init__(self):
        self.transport = None
        self.buffer = bytearray()
        self.answer = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        if self.answer is None or self.answer.done():
            return
        end = answer_end(self.buffer)
        if end is not None:
            status = int(self.buffer[9:12])
            del self.buffer[:end]
            self.answer.set_result(status)

    def connection_lost(self, exc):
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("closed by the server"))

    async def request(self, payload):
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.answer


def answer_end(buffer):
    """Where the HTTP answer at the start of `buffer` ends, or None while it is incomplete.

    Our server sends a Content-Length; Go's net/http sends a large map chunked.
    """
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).lower()
    position = head_end + 4
    if b"content-length:" in head:
        end = position + int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        return end if len(buffer) >= end else None
    while True:  # chunked
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2 + size + 2
        if len(buffer) < position:
            return None
        if size == 0:
            return position


def heartbeat_request(host, client_id):
    body = json.dumps({"id": client_id}).encode()
    return (
        f"PATCH /client HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def drive(url, ids, seconds):
    """Heartbeat every id once a second for `seconds`; latencies in ms from when each was due."""
    target = urlsplit(url)
    loop = asyncio.get_running_loop()
    pool = asyncio.Queue()
    for _ in range(CONNECTIONS):
        _, connection = await loop.create_connection(Connection, target.hostname, target.port)
        pool.put_nowait(connection)
    payloads = [heartbeat_request(target.netloc, client_id) for client_id in ids]
    latencies, errors = [], []
    start = loop.time() + 0.1

    async def beat(payload, due):
        connection = await pool.get()
        try:
            status = await connection.request(payload)
            latencies.append((loop.time() - due) * 1000)
            if status != 200:
                errors.append(status)
        except ConnectionError as error:
            errors.append(str(error))
        finally:
            pool.put_nowait(connection)

    tasks = []
    for second in range(seconds):
        for index, payload in enumerate(payloads):
            due = start + second + index / len(payloads)
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(beat(payload, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().transport.close()
    return latencies, errors


def step(server, url, clients, seconds, ttl):
    ids = register_clients(url, clients)
    started = time.monotonic()
    latencies, errors = asyncio.run(drive(url, ids, seconds))
    elapsed = time.monotonic() - started
    live = live_count(url)
    quantiles = statistics.quantiles(latencies, n=100)
    record = {
        "server": server,
        "clients": clients,
        "heartbeats": len(latencies),
        "heartbeats_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(quantiles[49], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_ms": round(max(latencies), 1),
        "errors": len(errors),
        "live_after": live,
    }
    record["holds"] = record["p99_ms"] <= P99_BOUND_MS and not errors and live >= clients
    time.sleep(ttl + 1.5)  # this step's clients expire before the next step registers its own
    return emit(record)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", help="another name server's URL (the Go original), measured alongside")
    parser.add_argument("--clients", default="250,500,750,1000,1250,1500,2000", help="the steps of N")
    parser.add_argument("--seconds", type=int, default=10)
    options = parser.parse_args()
    ttl = 5
    records = []
    with fresh_database() as url, web_server(database_url=url) as (server_url, _pid):
        servers = [("make run", server_url)] + ([(options.compare, options.compare)] if options.compare else [])
        still_holding = {name for name, _ in servers}
        for clients in (int(n) for n in options.clients.split(",")):
            for name, base in servers:
                if name in still_holding:
                    record = step(name, base, clients, options.seconds, ttl)
                    records.append(record)
                    if not record["holds"]:
                        still_holding.discard(name)
            if not still_holding:
                break
    for name, _ in servers:
        held = [r["clients"] for r in records if r["server"] == name and r["holds"]]
        emit({"server": name, "holds_clients": max(held, default=0)})
    save("nameserver_capacity", records)


if __name__ == "__main__":
    main()
