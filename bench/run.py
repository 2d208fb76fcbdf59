"""`make bench`: every benchmark in turn, then the charts (bench/README.md).

Each one starts its own servers pinned to core 0, drives them from core 1, takes the
median of 3 runs, prints JSON lines and saves bench/results/<name>.json; bench/charts.py
draws the PNGs bench/README.md shows. Takes about an hour on the 2-core machine.

The production configuration (PostgreSQL, Redis, WEB_WORKERS) is measured beside the
default where PostgreSQL answers at BENCH_POSTGRES_URL and redis-server is installed;
where either is missing this says once which rows it leaves out. The Go originals are
measured too when they are running: BENCH_COMPARE_NAMESERVER (its URL; with
BENCH_COMPARE_NAMESERVER_PID its CPU is counted) and BENCH_COMPARE_CONTACTS (HOST:PORT).

`--quick` (`make bench-quick`, a few minutes): the production rows only, one short run
each, saved under bench/results/quick/ and printed as tables; the documents are left as
they are. Its figures are too noisy to quote: it shows that the benchmarks work.
"""

import argparse
import os
import subprocess
import sys

from bench.harness import LOAD_CORE, ROOT, missing_services, pinned, skip_line

QUICK_TABLES = ("http", "nameserver_vs_go", "chat_production", "scaling_workers")


def run(module, *args, core=None):
    print(f"# {module} {' '.join(args)}".rstrip(), flush=True)
    subprocess.run(pinned([sys.executable, "-m", module, *args], core), cwd=ROOT, check=True)


def compare(variable, option):
    """`option value` when the environment names a running original to compare with."""
    value = os.environ.get(variable)
    return [option, value] if value else []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the production rows only, one short run each")
    options = parser.parse_args()
    missing = missing_services()
    if missing:
        print(skip_line(missing), flush=True)
    without = [arg for service in missing for arg in ("--without", service)]
    nameserver = compare("BENCH_COMPARE_NAMESERVER", "--compare")
    go_cpu = compare("BENCH_COMPARE_NAMESERVER_PID", "--compare-pid") if nameserver else []
    if options.quick:
        run("bench.http_bench", "--quick", *without, *nameserver, *go_cpu)
        run("bench.chat_bench", "--quick", "--only", "production", *without)
        if not missing:
            run("bench.scaling", "--quick")
        quick = str(ROOT / "bench" / "results" / "quick")
        run("bench.tables", "--results", quick, "--print", "--only", *QUICK_TABLES)
        return
    run("bench.http_bench", *without, *nameserver, *go_cpu)
    run("bench.instructions", core=LOAD_CORE)
    run("bench.nameserver_capacity", *nameserver, core=LOAD_CORE)
    run("bench.contacts_bench", *compare("BENCH_COMPARE_CONTACTS", "--compare"), core=LOAD_CORE)
    run("bench.chat_bench", *without)
    run("bench.cold_start", *without)
    run("bench.memory_bench", core=LOAD_CORE)
    if not missing:
        run("bench.scaling")
        run("bench.scaling", "--connections-per-core", "50", "--chat-rates")  # the name server, each core loaded as one
    run("bench.charts")
    run("bench.tables")


if __name__ == "__main__":
    main()
