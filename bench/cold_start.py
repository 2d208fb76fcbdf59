"""What one chat message's work costs when it comes alone: back to back, and 1/30 s apart.

    python -m bench.cold_start [--calls 300] [--postgres URL] [--without postgresql]

At 30 messages a second a web process sleeps between messages, and whatever ran on the
core meanwhile (the other worker, PostgreSQL, Redis, the load) has taken its caches: each
message's code and data are fetched again. This runs the same piece of the chat's path
N times back to back, then N times with a sleep of 1/30 s before each, on one thread
pinned to the server core, and reports the CPU per call of each (the sleeps' own CPU,
measured alone, taken off). The pieces:

- `broadcast`: a message's nane frame and its WebSocket framing (pure Python, no I/O);
- `store`: `services.post_messages` for one message, what the chat writer's thread runs,
  on SQLite and, where it answers, on PostgreSQL (its backend's CPU is not counted).

Results in bench/results/cold_start.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from bench.harness import (
    ROOT,
    SERVER_CORE,
    add_service_options,
    emit,
    fresh_database,
    manage_env,
    pinned,
    save,
    services,
)

GAPS = {"back to back": 0.0, "1/30 s apart": 1 / 30}


def measure(calls, names):
    """In the child: {piece: {gap: CPU µs per call}} of the pieces `names`, on this process's DATABASE_URL."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    django.setup()
    from django.utils import timezone

    from chatsite.core.websocket_frames import encode_text_frames
    from messaging import protocol, services

    post = services.Post("bench", "alice", "the quick brown fox jumps over the lazy dog", None)
    now = timezone.now()
    pieces = {
        "broadcast": lambda: encode_text_frames(
            [protocol.nane_frame(room="bench", text=post.text, sender=post.sender, created=now, seq=1, client_id=None)]
        ),
        "store": lambda: services.post_messages([post]),
    }
    sleeps = {gap: cpu_per_call(lambda: None, gap, calls) for gap in GAPS.values()}
    results = {}
    for name in names:
        piece = pieces[name]
        cpu_per_call(piece, 0.0, calls)  # warm: the room exists, the SQL is built and cached
        results[name] = {label: round(cpu_per_call(piece, gap, calls) - sleeps[gap]) for label, gap in GAPS.items()}
    return results


def cpu_per_call(piece, gap, calls):
    """This thread's CPU µs per `piece()`, each after a sleep of `gap` seconds."""
    start = time.thread_time()
    for _ in range(calls):
        if gap:
            time.sleep(gap)
        piece()
    return (time.thread_time() - start) / calls * 1e6


def run(database_url, calls, pieces):
    command = [sys.executable, "-m", "bench.cold_start", "--calls", str(calls), "--child", *pieces]
    command = pinned(command, SERVER_CORE)
    output = subprocess.run(command, cwd=ROOT, env=manage_env(database_url), capture_output=True, text=True)
    if output.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="calls of each piece at each spacing")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # the pieces to measure, in-process
    add_service_options(parser)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(measure(options.calls, options.child)))
        return
    # The broadcast has no database in it: measured once, with SQLite's run.
    databases = {"SQLite": ("", ["broadcast", "store"])}
    if "postgresql" in services(options):
        databases["PostgreSQL"] = (options.postgres, ["store"])
    records = []
    for database, (engine_url, pieces) in databases.items():
        with fresh_database(engine_url, name="cold") as url:
            for piece, costs in run(url, options.calls, pieces).items():
                record = {"piece": piece, "database": database if piece == "store" else None, **costs}
                record["ratio"] = round(costs["1/30 s apart"] / costs["back to back"], 1)
                records.append(emit(record))
    save("cold_start", records)


if __name__ == "__main__":
    main()
