"""A write goes to the peers as soon as it is stamped, before its batch is stored."""

import threading

import pytest

from contacts import services
from contacts.client import ContactsClient
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
