"""The clock has one owner: a batch that fails while heartbeats go out is stored later, never rolled back.

The replica runs in this process (its event loop on a thread of its own) so the test can
make the database fail one batch; clients and the fake peer use real sockets.
"""

import asyncio
import threading
from contextlib import contextmanager

import pytest
from django.db import OperationalError

from contacts import services
from contacts.client import ContactsClient
from contacts.protocol import HeartBeat, Update
from contacts.server import ReplicaServer
from tests.contacts.conftest import RawConnection

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def replica_in_thread(name, **settings):
    """A ReplicaServer on 127.0.0.1 with its event loop on a thread; yields it once it listens."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = ReplicaServer(name, ("127.0.0.1", 0), **settings)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class FakePeer:
    """A peer that records every frame the replica sends it, answering heartbeats to stay linked."""

    def __init__(self, port):
        self.connection = RawConnection.peer(port)
        self.frames, self.heard_clock_1 = [], threading.Event()
        self.thread = threading.Thread(target=self.read_forever, daemon=True)
        self.thread.start()

    def read_forever(self):
        try:
            while True:
                frame = self.connection.read_server_frame()
                self.frames.append(frame)
                if isinstance(frame, HeartBeat):
                    self.connection.sock.sendall(HeartBeat(0).encode())
                    if frame.clock >= 1:
                        self.heard_clock_1.set()
        except OSError:
            pass

    def heartbeat_clocks(self):
        return [frame.clock for frame in self.frames if isinstance(frame, HeartBeat)]

    def close(self):
        self.connection.close()
        self.thread.join(timeout=10)


def test_a_batch_that_fails_while_heartbeats_go_out_is_stored_later_and_no_clock_goes_back(monkeypatch):
    real_upsert, calls = services.upsert_contacts, []

    def fails_once_after_a_heartbeat(rows):
        calls.append(rows)
        if len(calls) == 1:
            # Hold the failing batch until a heartbeat has gone out with the write's clock.
            assert peer.heard_clock_1.wait(timeout=20), "no heartbeat advertised the stamped clock"
            raise OperationalError("database is locked")
        real_upsert(rows)

    monkeypatch.setattr(services, "upsert_contacts", fails_once_after_a_heartbeat)
    with replica_in_thread("clock-owner", heartbeat_interval=0.05, store_retry_interval=0.05) as server:
        peer = FakePeer(server.listen[1])
        try:
            with ContactsClient(*server.listen, "ana") as client:
                client.update("bob", "1")
                assert client.list_all() == [(b"bob", b"1")], "the write whose batch failed was stored"
                client.update("eve", "2")
                assert client.list_all() == [(b"bob", b"1"), (b"eve", b"2")]
            before = len(peer.frames)
            while len(peer.frames) < before + 3:  # a few more beats after the retry
                peer.heard_clock_1.wait(0.05)
        finally:
            peer.close()
    clocks = peer.heartbeat_clocks()
    assert len(calls) >= 3, "the first batch failed and was tried again"
    assert clocks == sorted(clocks), f"a heartbeat advertised a clock that went back: {clocks}"
    assert clocks[-1] == 2
    updates = [frame for frame in peer.frames if isinstance(frame, Update)]
    assert updates == [Update(1, b"ana", b"bob", b"1"), Update(2, b"ana", b"eve", b"2")], "no clock handed out twice"
