"""A write goes to the peers as soon as it is stamped, before its batch is stored."""

import asyncio
import threading

import pytest
import uvloop

from contacts import services
from contacts.client import ContactsClient
from contacts.connections import PeerLink
from contacts.protocol import Update
from tests.contacts.in_process import FakePeer, replica_in_thread

pytestmark = pytest.mark.django_db(transaction=True)

BOB = Update(1, b"ana", b"bob", b"1")


class HeldStore:
    """Holds every batch in the database call until the fake peer has received `frame`."""

    def __init__(self, monkeypatch, frame):
        self.frame, self.peer, self.real_upsert = frame, None, services.upsert_contacts
        self.storing, self.peer_linked = threading.Event(), threading.Event()
        monkeypatch.setattr(services, "upsert_contacts", self.upsert)

    def upsert(self, rows):
        self.storing.set()
        assert self.peer_linked.wait(20)
        assert self.peer.received(lambda frame: frame == self.frame), f"{self.frame} was not sent before storing"
        self.real_upsert(rows)

    def link(self, port):
        self.peer = FakePeer(port)
        self.peer_linked.set()
        return self.peer


def test_a_write_reaches_a_linked_peer_before_its_batch_is_stored(monkeypatch):
    store = HeldStore(monkeypatch, BOB)
    with replica_in_thread("forwards-at-once") as server:
        peer = store.link(server.listen[1])
        try:
            with ContactsClient(*server.listen, "ana") as client:
                client.update("bob", "1")
                assert client.list_all() == [(b"bob", b"1")]
        finally:
            peer.close()


def test_a_peer_that_links_while_a_write_is_being_stored_still_gets_it(monkeypatch):
    store = HeldStore(monkeypatch, BOB)
    with replica_in_thread("links-mid-batch") as server, ContactsClient(*server.listen, "ana") as client:
        client.update("bob", "1")
        assert store.storing.wait(20)  # stamped, and its batch is held in the database call
        peer = store.link(server.listen[1])  # its snapshot, read from the database, lacks bob
        try:
            assert client.list_all() == [(b"bob", b"1")]
        finally:
            peer.close()


def test_forwarding_to_a_peer_whose_connection_just_closed_does_not_fail_the_write():
    """The link's own task drops a dead link a moment later; until then, sending to it is a no-op.

    On uvloop (the replica's loop) a write to a closed transport raises, and the error ended
    the session of the client whose write was being forwarded.
    """

    async def scenario():
        server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
        _, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
        link = PeerLink(b"peer", frames=None, writer=writer, outgoing=True)
        writer.close()
        await writer.wait_closed()
        link.send(BOB.encode())
        server.close()
        await server.wait_closed()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())
