"""`make bench`: every benchmark in turn with its defaults; each prints JSON lines."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ["bench.nameserver_bench", "bench.contacts_bench"]


def main():
    for module in BENCHMARKS:
        print(f"# {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
