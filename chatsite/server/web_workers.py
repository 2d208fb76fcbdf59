"""Several web worker processes on one port: `WEB_WORKERS=N manage.py uvicorn`.

Each worker is `manage.py uvicorn --reuse-port`, a whole web process of its own: it binds
the port with SO_REUSEPORT and the kernel spreads new connections among the workers. A
chat broadcast, a signaling frame and a kick reach sockets of the other workers through
Redis, exactly as they reach other nodes; the database keeps signaling's one connection
per user. This process only starts the workers, announces the node to the name server
once (so `GET /nodes` lists it once, not once per worker), and stops them together.

A worker that exits on its own stops the node, with that worker's exit status: the
process manager (systemd, honcho) then restarts the node whole, instead of this process
restarting a worker whose cause of death it cannot know.

Metrics: the workers run prometheus-client in multiprocess mode in a directory of this
process's (PROMETHEUS_MULTIPROC_DIR, made here unless set), so whichever worker answers
`GET /metrics` answers for all of them.
"""

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from prometheus_client import multiprocess

from chatsite.core.metrics import MULTIPROCESS_DIR, multiprocess_dir

log = logging.getLogger(__name__)


class WebWorkers:
    """`announce`: called once the workers are started, to announce the node (the shell passes the name server's)."""

    def __init__(self, addrport, count, manage_py, announce):
        self.addrport, self.count, self.manage_py, self.announce = addrport, count, manage_py, announce
        self.workers = []
        self.stopping = False
        self.metrics_dir = None

    def run(self):
        """Serve until SIGTERM or SIGINT (exit status 0), or until a worker exits (its status)."""
        given = multiprocess_dir()
        self.metrics_dir = metrics_dir = Path(given or tempfile.mkdtemp(prefix="chatsite-metrics-"))
        if given:
            metrics_dir.mkdir(parents=True, exist_ok=True)
            for stale in metrics_dir.glob("*.db"):  # an earlier run's figures would be summed in
                stale.unlink()
        env = {**os.environ, "WEB_WORKERS": "1", "NODE_ANNOUNCE": "0", MULTIPROCESS_DIR: str(metrics_dir)}
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)
        try:
            command = [sys.executable, str(self.manage_py), "uvicorn", self.addrport, "--reuse-port"]
            self.workers = [subprocess.Popen(command, env=env) for _ in range(self.count)]
            log.info("Started %d web workers on %s: %s", self.count, self.addrport, [w.pid for w in self.workers])
            self.announce()
            return self.wait()
        finally:
            if not given:
                shutil.rmtree(metrics_dir, ignore_errors=True)

    def wait(self):
        status = 0
        running = list(self.workers)
        while running:
            pid, wait_status = os.wait()
            worker = next((w for w in running if w.pid == pid), None)
            if worker is None:
                continue
            running.remove(worker)
            worker.returncode = os.waitstatus_to_exitcode(wait_status)
            multiprocess.mark_process_dead(pid, str(self.metrics_dir))  # its `livesum` gauges no longer count
            if not self.stopping:
                log.error("Web worker %d exited with %s; stopping the node", pid, worker.returncode)
                status = worker.returncode or 1
                self.stop()
        return status

    def stop(self, *_):
        """Ask every worker still running to shut down gracefully."""
        self.stopping = True
        for worker in self.workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
