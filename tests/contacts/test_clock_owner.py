"""The clock has one owner: a batch that fails while heartbeats go out is stored later, never rolled back.

The replica runs in this process (its event loop on a thread of its own) so the test can
make the database fail one batch; clients and the fake peer use real sockets.
"""

import pytest
from django.db import OperationalError

from contacts import services
from contacts.client import ContactsClient
from contacts.protocol import HeartBeat, Update
from tests.contacts.in_process import FakePeer, replica_in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_that_fails_while_heartbeats_go_out_is_stored_later_and_no_clock_goes_back(monkeypatch):
    real_upsert, calls = services.upsert_contacts, []

    def fails_once_after_a_heartbeat(rows):
        calls.append(rows)
        if len(calls) == 1:
            # Hold the failing batch until a heartbeat has gone out with the write's clock.
            assert peer.received(lambda frame: isinstance(frame, HeartBeat) and frame.clock >= 1), (
                "no heartbeat advertised the stamped clock"
            )
            raise OperationalError("database is locked")
        real_upsert(rows)

    monkeypatch.setattr(services, "upsert_contacts", fails_once_after_a_heartbeat)
    # Beats 0.2 s apart: the fake peer answers from a thread of this process, and a peer
    # silent for three beats is dropped, which a busy machine must not cause.
    with replica_in_thread("clock-owner", heartbeat_interval=0.2, store_retry_interval=0.05) as server:
        peer = FakePeer(server.listen[1])
        try:
            with ContactsClient(*server.listen, "ana") as client:
                client.update("bob", "1")
                assert client.list_all() == [(b"bob", b"1")], "the write whose batch failed was stored"
                client.update("eve", "2")
                assert client.list_all() == [(b"bob", b"1"), (b"eve", b"2")]
            assert peer.received(lambda frame: isinstance(frame, HeartBeat) and frame.clock == 2)
        finally:
            peer.close()
    clocks = peer.heartbeat_clocks()
    assert len(calls) >= 3, "the first batch failed and was tried again"
    assert clocks == sorted(clocks), f"a heartbeat advertised a clock that went back: {clocks}"
    assert clocks[-1] == 2
    updates = [frame for frame in peer.frames if isinstance(frame, Update)]
    assert updates == [Update(1, b"ana", b"bob", b"1"), Update(2, b"ana", b"eve", b"2")], "no clock handed out twice"
