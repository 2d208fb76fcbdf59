"""`make bench`: every benchmark in turn with its defaults; each prints JSON lines."""

import subprocess
import sys
from pathlib import Path

from bench.harness import LOAD_CORE, pinned, web_server

ROOT = Path(__file__).resolve().parent.parent


def run(*command):
    subprocess.run([sys.executable, *command], cwd=ROOT, check=True)


def main():
    print("# name server", flush=True)
    run("-m", "bench.nameserver_bench")
    print("# contacts", flush=True)
    run("-m", "bench.contacts_bench")
    print("# chat fan-out (1 sender at 30 msg/s; 10 senders sharing 400 msg/s)", flush=True)
    with web_server(port=8000, LOG_LEVEL="WARNING") as (url, _pid):
        ws = url.replace("http", "ws", 1)
        fanout = [sys.executable, "bench/chat_fanout.py", ws, "--duration", "10"]
        subprocess.run(
            pinned([*fanout, "--clients", "10", "100", "1000", "--senders", "1", "--rate", "30"], LOAD_CORE),
            cwd=ROOT,
            check=True,
        )
        subprocess.run(
            pinned([*fanout, "--clients", "100", "--senders", "10", "--rate", "400"], LOAD_CORE), cwd=ROOT, check=True
        )


if __name__ == "__main__":
    main()
