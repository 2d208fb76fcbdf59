"""Names and phones are the bytes sent (docs/protocols/contacts.md), as the Go replica keeps them, UTF-8 or not.

The original's `client.py` cuts a name at 255 bytes: 200 x "é" (400 bytes) arrives as 127
"é" and half of the 128th. Such a name is stored, compared and sent back byte for byte, in
ListAll, AskForUpdate and replication; only pages and the admin show it as text.
"""

import pytest

from contacts.models import Contact, shown
from contacts.protocol import AskForUpdate, ClientDelete, ClientUpdate, Update
from contacts.services import list_contacts, open_replica, replica_snapshot
from tests.contacts.batches import LEASE, LocalWrite, apply_batch
from tests.contacts.conftest import RawConnection, eventually

CUT_NAME = ("é" * 200).encode()[:255]  # what client.py sends for 200 x "é"
CUT_PHONE = ("9" * 18 + "é").encode()[:19]
NOT_UTF8 = b"\xff\xfe caf\xe9"  # Latin-1, as an old client might send


def test_the_cut_name_ends_in_the_middle_of_a_character():
    assert len(CUT_NAME) == 255
    assert CUT_NAME.endswith(b"\xc3")
    with pytest.raises(UnicodeDecodeError):
        CUT_NAME.decode()


# --- Services: stored and read back exactly -------------------------------------------


@pytest.fixture
def replica(db):
    model, clock = open_replica("bytes-replica", LEASE)
    return model.id, clock


def test_a_cut_name_and_phone_are_stored_and_listed_byte_exact(replica):
    replica_id, clock = replica
    apply_batch(replica_id, clock, [LocalWrite(CUT_NAME, ClientUpdate(CUT_NAME, CUT_PHONE))])

    assert list_contacts(replica_id, CUT_NAME) == [(CUT_NAME, CUT_PHONE)]
    assert replica_snapshot(replica_id) == [Update(1, CUT_NAME, CUT_NAME, CUT_PHONE)]


def test_names_differing_only_in_bytes_that_are_not_utf8_are_two_contacts(replica):
    replica_id, clock = replica
    names = [b"caf\xe9", b"caf\xc3", "café".encode(), b"caf\xef\xbf\xbd"]  # the last is "caf" + U+FFFD
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(name, b"1")) for name in names])

    assert list_contacts(replica_id, b"ana") == [(name, b"1") for name in sorted(names)]


def test_list_all_is_sorted_by_the_bytes_of_the_name(replica):
    replica_id, clock = replica
    names = [b"\xff", b"zoe", b"\xc3", "Émile".encode(), b"al"]
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(name, b"1")) for name in names])

    assert [name for name, _ in list_contacts(replica_id, b"ana")] == [
        b"al",
        b"zoe",
        b"\xc3",
        "Émile".encode(),
        b"\xff",
    ]


@pytest.mark.parametrize("order", [0, 1])
def test_at_equal_clocks_the_greater_phone_bytes_win_whatever_the_order(replica, order):
    replica_id, clock = replica
    writes = [Update(7, b"ana", CUT_NAME, b"\xff"), Update(7, b"ana", CUT_NAME, CUT_PHONE)]
    for frame in writes if order else reversed(writes):
        apply_batch(replica_id, clock, [frame])

    assert list_contacts(replica_id, b"ana") == [(CUT_NAME, b"\xff")]


def test_a_cut_name_is_deleted_by_the_same_bytes(replica):
    replica_id, clock = replica
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(CUT_NAME, b"1"))])
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientDelete(CUT_NAME[:-1]))])  # the whole characters only
    assert list_contacts(replica_id, b"ana") == [(CUT_NAME, b"1")]

    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientDelete(CUT_NAME))])
    assert list_contacts(replica_id, b"ana") == []


# --- Pages and admin: text, with U+FFFD for what is not UTF-8 ---------------------------


def test_pages_show_undecodable_bytes_as_replacement_characters(client, replica):
    replica_id, clock = replica
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(CUT_NAME, NOT_UTF8))])

    data = client.get("/contacts/views.json", {"user": "ana"}).json()

    assert data["replicas"]["bytes-replica"]["contacts"] == [
        {"contact": "é" * 127 + "\ufffd", "phone": "\ufffd\ufffd caf\ufffd"}
    ]


def test_the_admin_lists_and_finds_contacts_as_text(admin_client, replica):
    replica_id, clock = replica
    apply_batch(replica_id, clock, [LocalWrite("Zoë".encode(), ClientUpdate(CUT_NAME, NOT_UTF8))])
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(b"bob", b"1"))])

    listing = admin_client.get("/admin/contacts/contact/").content.decode()
    found = admin_client.get("/admin/contacts/contact/", {"q": "Zoë"}).content.decode()
    contact = Contact.objects.get(user="Zoë".encode())
    detail = admin_client.get(f"/admin/contacts/contact/{contact.pk}/change/").content.decode()

    assert "é" * 127 + "\ufffd" in listing
    assert "\ufffd\ufffd caf\ufffd" in listing
    assert "Zoë" in found
    assert ">bob<" not in found
    assert "é" * 127 + "\ufffd" in detail
    assert shown(contact.name) == "é" * 127 + "\ufffd"


# --- Real replicas: ListAll, replication and AskForUpdate ------------------------------


def test_three_replicas_converge_on_a_cut_name_and_send_it_back_exactly(cluster):
    one, _, three = cluster.mesh()
    with one.client(CUT_NAME) as client:  # the user name is cut too, as client.py cuts it
        client.update(CUT_NAME, CUT_PHONE)
        client.update(b"plain", NOT_UTF8)
        assert client.list_all() == [(b"plain", NOT_UTF8), (CUT_NAME, CUT_PHONE)]

    expected = [(b"plain", NOT_UTF8), (CUT_NAME, CUT_PHONE)]
    assert eventually(lambda: cluster.converged(CUT_NAME)) == expected

    peer = RawConnection.peer(three.port)
    try:
        assert peer.read_server_frame() == AskForUpdate()
        peer.sock.sendall(AskForUpdate().encode())
        streamed = [peer.read_server_frame() for _ in range(2)]
    finally:
        peer.close()
    assert sorted(streamed, key=lambda frame: frame.contact) == [
        Update(2, CUT_NAME, b"plain", NOT_UTF8),
        Update(1, CUT_NAME, CUT_NAME, CUT_PHONE),
    ]


def test_a_mixed_cluster_converges_on_a_cut_name_from_a_go_peer(cluster):
    """A Go replica sends its local write to each of its peers; ours both store it exactly."""
    replicas = cluster.mesh(2)
    go_links = [RawConnection.peer(replica.port, name=b"go-replica") for replica in replicas]
    try:
        for link in go_links:
            link.sock.sendall(Update(40, b"ana", CUT_NAME, CUT_PHONE).encode())
        assert eventually(lambda: cluster.converged(b"ana")) == [(CUT_NAME, CUT_PHONE)]
    finally:
        for link in go_links:
            link.close()
