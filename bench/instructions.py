"""Instructions a request costs in the web process's request thread, counted by valgrind.

Timings on these shared machines move by half from one minute to the next; the count of
instructions for the same code does not. Each endpoint's requests run in-process through
the WSGI bridge's `respond`, 50 to a request cycle as under load (chatsite/server/handlers.py),
on a fresh SQLite database with 100 registered clients, under
`valgrind --tool=callgrind`; a run of N requests less a run of none, divided by N, is the
cost of one. The event loop's share (uvicorn's parsing and writing) is not in it, nor is
the kernel's. Results in bench/results/instructions.json.

    python -m bench.instructions [--requests 300]
"""

import argparse
import json
import re
import shutil
import subprocess
import sys

from bench.harness import ROOT, emit, fresh_database, manage_env, save

ENDPOINTS = {
    "GET /api/settings": ("GET", "/api/settings"),
    "GET /clients": ("GET", "/clients"),
    "PATCH /client": ("PATCH", "/client"),
}
CYCLE = 50  # requests a batch, as wrk's 50 connections give
CLIENTS = 100
COLLECTED = re.compile(r"Collected : (\d+)")


def serve(endpoint, count):
    """In the child: register the clients, then answer `count` requests to `endpoint`."""
    import django

    django.setup(set_prefix=False)
    from chatsite.server.handlers import DjangoHandlers
    from chatsite.server.wsgi_bridge import WSGIBridge
    from nameserver import services
    from nameserver.models import Client

    ids = [str(services.register(Client, ip="10.0.0.1", port=7000, name=f"bench-{n}").id) for n in range(CLIENTS)]
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    method, path = ENDPOINTS[endpoint]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    bodies = [json.dumps({"id": ids[n % CLIENTS]}).encode() if method == "PATCH" else b"" for n in range(CYCLE)]

    def cycle(requests):
        with handlers.batch():
            for body in bodies[:requests]:
                status, _, content = bridge.respond(scope, body)
                if status != 200:
                    raise SystemExit(f"{endpoint}: {status} {content[:200]!r}")

    cycle(CYCLE)  # to warm up, in the run of none too
    for start in range(0, count, CYCLE):
        cycle(min(CYCLE, count - start))


def collected(endpoint, count):
    """Instructions valgrind counts for a whole child process answering `count` requests."""
    with fresh_database() as url:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            endpoint,
            str(count),
        ]
        # Nothing may expire while valgrind runs the child some fifty times slower.
        env = manage_env(url, NAMESERVER_TTL=3600, NODE_ANNOUNCE=0, DJANGO_SETTINGS_MODULE="chatsite.settings")
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return int(COLLECTED.search(finished.stderr).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--child", nargs=2, metavar=("ENDPOINT", "COUNT"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return serve(options.child[0], int(options.child[1]))
    if not shutil.which("valgrind"):
        raise SystemExit("bench.instructions needs valgrind: apt-get install valgrind")
    records = []
    for endpoint in ENDPOINTS:
        cost = (collected(endpoint, options.requests) - collected(endpoint, 0)) / options.requests
        records.append(emit({"endpoint": endpoint, "requests": options.requests, "instructions": round(cost)}))
    save("instructions", records)


if __name__ == "__main__":
    main()
