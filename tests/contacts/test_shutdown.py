"""A replica stops cleanly on SIGTERM: exit code 0, its clients and peers see the connection end."""

import time

import pytest

from tests.support import output, report, stop_process

pytestmark = pytest.mark.faults


def test_a_sigtermed_replica_exits_0_closing_clients_and_peer_links(cluster):
    one, two = cluster.replica(start=False), cluster.replica(start=False)
    one.peers, two.peers = [two.port], [one.port]
    one.start(), two.start()
    with one.client("ana") as client:
        client.update("bob", "1")
        assert client.list_all() == [(b"bob", b"1")]
        began = time.monotonic()
        exit_code = stop_process(one.process, timeout=10)
        seconds = round(time.monotonic() - began, 2)
        client.sock.settimeout(5)
        assert client.sock.recv(1) == b"", "the client's connection was closed"
    assert exit_code == 0
    assert "Traceback" not in output(one.process)
    assert "Traceback" not in output(two.process)
    one.start()
    assert one.list_all(b"ana") == [(b"bob", b"1")]
    report("SIGTERM contact_replica", exit_code=exit_code, exit_s=seconds, client_connection_closed=True)
