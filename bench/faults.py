"""`make faults`: run the fault scenarios (tests marked `faults`) and print the figures they record.

Each scenario is a test under tests/ that kills or restarts a real process (redis-server,
daphne, a contact replica) and asserts what must survive; on the way it reports its
figures (what was delivered, lost, how long recovery took) as one JSON line, collected
here into bench/results/faults.jsonl. The "Faults" table of bench/README.md is made from them.
"""

import os
import subprocess
import sys

from bench.harness import RESULTS, ROOT


def main():
    RESULTS.mkdir(exist_ok=True)
    report = RESULTS / "faults.jsonl"
    report.unlink(missing_ok=True)
    env = dict(os.environ, FAULTS_REPORT=str(report))
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "faults", *sys.argv[1:]],
        cwd=ROOT,
        env=env,
    )
    print("# fault scenarios: one JSON line each", flush=True)
    print(report.read_text() if report.exists() else "(none recorded)", end="", flush=True)
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
