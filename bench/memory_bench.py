"""Memory of one web process holding 10,000 idle WebSocket connections.

Opens N nane connections (`/ws?username=`) from one load process, waits for the server
to settle, and reports (RSS with N open - RSS before) / N for each server. Results in
bench/results/memory.json.
"""

import argparse
import asyncio
import resource
import time
from urllib.parse import quote

import uvloop

from bench.harness import BENCH_SERVERS, emit, open_files_unlimited, rss_kib, save, web_server
from bench.wsload import connect


async def hold(ws_url, count, pid, settle):
    gate = asyncio.Semaphore(200)

    async def open_one(n):
        async with gate:
            return await connect(f"{ws_url}/ws?username={quote(f'idle-{n}')}")

    before = rss_kib(pid)
    started = time.monotonic()
    sockets = await asyncio.gather(*(open_one(n) for n in range(count)))
    connect_s = time.monotonic() - started
    await asyncio.sleep(settle)
    held = rss_kib(pid)
    open_at_end = sum(not ws.transport.is_closing() for ws in sockets)
    for ws in sockets:
        ws.transport.close()
    return before, held, connect_s, open_at_end


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait before reading RSS")
    options = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < options.connections + 100:
        raise SystemExit(f"the open-files limit ({hard}) is below {options.connections}: raise it (ulimit -n)")
    open_files_unlimited()
    records = []
    for server in BENCH_SERVERS:
        with web_server(server) as (url, pid):
            before, held, connect_s, still_open = uvloop.run(
                hold(url.replace("http", "ws", 1), options.connections, pid, options.settle)
            )
        records.append(
            emit(
                {
                    "server": server,
                    "connections": options.connections,
                    "open_at_end": still_open,
                    "connect_s": round(connect_s, 1),
                    "rss_before_mb": round(before / 1024, 1),
                    "rss_held_mb": round(held / 1024, 1),
                    "kb_per_connection": round((held - before) / options.connections, 1),
                }
            )
        )
    save("memory", records)


if __name__ == "__main__":
    main()
