"""The name server over real HTTP against daphne, on the suite's database engine."""

import http.client
import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.conftest import start_server
from tests.support import ROOT, manage

CLIENTS = 100
THREADS = 20
ROUNDS = 10


def request(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body else None, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # A TTL far above the test's length: a slow machine must not turn load into expiry.
    server = start_server(tmp_path_factory, "heartbeats", NAMESERVER_TTL=300)
    yield server
    server.stop()


def test_concurrent_heartbeats_are_all_answered_and_none_is_lost(server):
    # The pruner writes to the same database all along: no "database is locked" for anyone.
    pruner = subprocess.Popen(
        [sys.executable, "manage.py", "nameserver_worker"],
        cwd=ROOT,
        env={**server.env, "NAMESERVER_PRUNE_INTERVAL": "0.01"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    ids = [
        request(conn, "POST", "/client", {"ip": "10.0.0.1", "port": 1000 + n, "name": f"c{n}"})[1]["id"]
        for n in range(CLIENTS)
    ]
    sent_at = {}

    def heartbeat_all(thread):
        own = ids[thread::THREADS]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        statuses = []
        for _ in range(ROUNDS):
            for client_id in own:
                sent_at[client_id] = time.time()
                status, live = request(conn, "PATCH", "/client", {"id": client_id})
                statuses.append((status, client_id in live))
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        results = [s for statuses in pool.map(heartbeat_all, range(THREADS)) for s in statuses]
    pruner.terminate()
    _, pruner_errors = pruner.communicate(timeout=10)

    assert pruner_errors == ""

    assert len(results) == CLIENTS * ROUNDS
    assert set(results) == {(200, True)}
    _, listing = request(conn, "GET", "/clients")
    assert len(listing) == CLIENTS
    for client_id in ids:
        # The stored time is the last heartbeat's, not an earlier one written late.
        assert datetime.fromisoformat(listing[client_id]["connected"]).timestamp() >= sent_at[client_id]


def test_worker_prunes_in_a_loop_and_stops_cleanly_on_sigterm(tmp_path_factory):
    server = start_server(tmp_path_factory, "worker", NAMESERVER_TTL=0.5, NAMESERVER_PRUNE_INTERVAL=0.2)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        request(conn, "POST", "/client", {"ip": "10.0.0.1", "port": 1, "name": "soon-gone"})
        command = [sys.executable, "manage.py", "nameserver_worker"]
        worker = subprocess.Popen(command, cwd=ROOT, env=server.env, stdout=subprocess.PIPE, text=True)
        before_sigterm = []
        while "Pruned 1 expired entry." not in "".join(before_sigterm) and len(before_sigterm) < 50:
            before_sigterm.append(worker.stdout.readline())
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=10)
    finally:
        server.stop()

    output = "".join(before_sigterm) + output
    assert worker.returncode == 0
    assert "Pruned 1 expired entry." in output
    assert output.rstrip().endswith("Stopped.")
    count = "from nameserver.models import Client; print(Client.objects.count())"
    remaining = manage("shell", "-c", count, env=server.env)
    assert remaining.split()[-1] == "0"
