"""`make run`'s launcher (scripts/run.py): ports already taken are one clear line, before anything starts."""

import os
import socket
import subprocess
import sys

from scripts.run import expanded, listen_addresses
from tests.support import ROOT, free_port


def launch(web_port, contacts_port):
    env = dict(os.environ, WEB_PORT=str(web_port), CONTACTS_PORT=str(contacts_port))
    command = [sys.executable, "scripts/run.py", "Procfile", "--web", f"127.0.0.1:{web_port}", "--busy-hint", ", hint"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_ports_in_use_are_named_in_one_line_and_nothing_starts():
    with socket.create_server(("127.0.0.1", 0)) as web, socket.create_server(("127.0.0.1", 0)) as metrics:
        web_port, metrics_port = web.getsockname()[1], metrics.getsockname()[1]
        result = launch(web_port, contacts_port=metrics_port - 11)  # contacts2's metrics port is the taken one
    assert result.returncode == 1
    assert result.stdout == ""
    # One line naming both; on a busy machine a stranger may hold one of the other ports
    # too, and the line then names it as well.
    line, rest = result.stderr.split("\n", 1)
    assert rest == ""
    assert line.startswith(f"Cannot start: 127.0.0.1:{web_port} (web)")
    assert f"127.0.0.1:{metrics_port} (contacts2)" in line
    assert line.endswith(" are in use, by another `make run`? Stop that first, hint.")


def test_contacts_port_moves_every_replica_port(monkeypatch):
    base = free_port()
    monkeypatch.setenv("CONTACTS_PORT", str(base))
    addresses = listen_addresses(expanded((ROOT / "Procfile").read_text()))
    assert sorted(int(address.rpartition(":")[2]) - base for _, address in addresses) == [0, 1, 2, 10, 11, 12]
