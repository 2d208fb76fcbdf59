"""`make bench`: every benchmark in turn, then the charts (bench/README.md).

Each one starts its own servers pinned to core 0, drives them from core 1, takes the
median of 3 runs, prints JSON lines and saves bench/results/<name>.json; bench/charts.py
draws the PNGs bench/README.md shows. Takes about 45 minutes on the 2-core machine.
"""

import subprocess
import sys

from bench.harness import LOAD_CORE, ROOT, pinned


def run(module, core=None):
    print(f"# {module}", flush=True)
    subprocess.run(pinned([sys.executable, "-m", module], core), cwd=ROOT, check=True)


def main():
    run("bench.http_bench")
    run("bench.instructions", LOAD_CORE)
    run("bench.nameserver_capacity", LOAD_CORE)
    run("bench.contacts_bench", LOAD_CORE)
    run("bench.chat_bench")
    run("bench.memory_bench", LOAD_CORE)
    run("bench.charts")
    run("bench.tables")


if __name__ == "__main__":
    main()
