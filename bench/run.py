"""`make bench`: every benchmark in turn; each prints JSON lines (also kept in bench/results/)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ["bench.nameserver_bench"]


def main():
    for module in BENCHMARKS:
        print(f"# {module}", flush=True)
        subprocess.run([sys.executable, "-m", module, *sys.argv[1:]], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
