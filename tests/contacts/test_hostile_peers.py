"""A replica refuses what would break it: clocks past the limit, strangers speaking as servers, proofs that fail.

Real replica processes on real sockets, started as `make run` starts them (all on
127.0.0.1, so an attacker on the same machine has a peer's address); strangers on other
machines are played from 127.0.0.2.
"""

import time

import pytest

from contacts import protocol
from contacts.clock import clock_limit
from contacts.peer_auth import make_proof
from contacts.protocol import HeartBeat, Update
from tests.contacts.conftest import RawConnection, eventually
from tests.contacts.test_peer_protocol import frames_until

# The frame of the attack: "I am a server called x, and my clock is 2**32 - 1".
POISON = b"\x01" + b"x".ljust(256, b"\0") + b"\x03\x01\xff\xff\xff\xff"
SECRET = "a secret the replicas share"


def advertised_clock(replica):
    """The clock a replica sends its peers in its next heartbeat."""
    peer = RawConnection.peer(replica.port)
    try:
        frames = frames_until(peer, lambda frames: any(isinstance(frame, HeartBeat) for frame in frames))
        return next(frame.clock for frame in frames if isinstance(frame, HeartBeat))
    finally:
        peer.close()


def test_the_poisoning_frame_is_refused_and_every_replica_still_takes_writes_and_converges(cluster):
    first, second, third = cluster.mesh(3)
    with first.client("Beloin") as client:
        client.update("Juan", "1")
        client.list_all()  # the write is stored before anyone compares
    assert cluster.agreed(b"Beloin") == [(b"Juan", b"1")]

    attacker = RawConnection(first.port, POISON)
    assert attacker.is_closed_by_server(), "the frame's connection is closed"
    attacker.close()

    with second.client("Beloin") as client:
        client.update("Ana", "2")
        client.list_all()  # the write is stored before anyone compares
    with third.client("Beloin") as client:
        client.delete("Juan")
        client.list_all()  # the write is stored before anyone compares
    assert cluster.agreed(b"Beloin") == [(b"Ana", b"2")]
    assert all(advertised_clock(replica) < 100 for replica in (first, second, third))
    first.stop()
    first.start()
    with first.client("Beloin") as client:
        client.update("Zoe", "3")
        client.list_all()  # the write is stored before anyone compares
    assert cluster.agreed(b"Beloin") == [(b"Ana", b"2"), (b"Zoe", b"3")]


def test_an_update_with_the_largest_clock_cannot_pin_a_contact(cluster):
    replica = cluster.replica()
    peer = RawConnection.peer(replica.port)
    peer.sock.sendall(Update(2**32 - 1, b"ana", b"bob", b"pinned").encode())
    assert peer.is_closed_by_server()
    peer.close()
    with replica.client("ana") as client:
        client.update("bob", "mine")
        client.list_all()  # the write is stored before anyone compares
        assert client.list_all() == [(b"bob", b"mine")]


def test_the_frames_before_a_refused_clock_stand_and_the_limit_itself_is_accepted(cluster):
    replica = cluster.replica()
    limit = clock_limit(10000)  # CONTACTS_CLOCK_LEASE's default
    peer = RawConnection.peer(replica.port)
    peer.sock.sendall(Update(5, b"ana", b"kept", b"1").encode() + HeartBeat(limit + 1).encode())
    assert peer.is_closed_by_server()
    peer.close()
    # A peer's write is stored in the replica's next batch: the list shows it once stored.
    eventually(lambda: replica.list_all(b"ana"), done=lambda listed: listed == [(b"kept", b"1")])
    assert advertised_clock(replica) < limit

    peer = RawConnection.peer(replica.port)
    peer.sock.sendall(HeartBeat(limit).encode())
    assert advertised_clock(replica) == limit, "the limit itself is observed"
    peer.close()


def test_a_replica_at_its_clock_limit_refuses_writes_and_keeps_serving(cluster):
    replica = cluster.replica()
    with replica.client("ana") as client:
        client.update("kept", "1")
        client.list_all()  # the write is stored before anyone compares
    peer = RawConnection.peer(replica.port)
    peer.sock.sendall(HeartBeat(clock_limit(10000)).encode())
    assert advertised_clock(replica) == clock_limit(10000)
    peer.close()

    writer = RawConnection(replica.port, protocol.Handshake(protocol.ROLE_CLIENT, b"ana").encode())
    writer.sock.sendall(protocol.ClientUpdate(b"new", b"2").encode())
    assert writer.is_closed_by_server(), "a write that cannot be stamped closes its connection"
    writer.close()
    assert replica.list_all(b"ana") == [(b"kept", b"1")]
    assert replica.process.poll() is None
    assert "--reset-clock" in replica.log()


def test_a_server_handshake_from_an_address_that_is_no_peer_is_refused_but_it_may_be_a_client(cluster):
    replica = cluster.replica()
    stranger = RawConnection(replica.port, POISON, source="127.0.0.2")
    assert stranger.is_closed_by_server(), "no name is sent back, the connection is closed"
    stranger.close()
    client = RawConnection(replica.port, protocol.Handshake(protocol.ROLE_CLIENT, b"ana").encode(), source="127.0.0.2")
    client.sock.sendall(protocol.ClientUpdate(b"bob", b"1").encode() + protocol.ListAll().encode())
    assert protocol.decode_contact_list(client.recv_exactly(4 + 276)) == [(b"bob", b"1")]
    client.close()
    assert "not the address of a configured peer" in replica.log()


def test_with_a_peer_secret_replicas_link_and_a_handshake_without_a_good_fresh_proof_is_refused(cluster):
    first, _ = cluster.mesh(2, CONTACTS_PEER_SECRET=SECRET)
    with first.client("ana") as client:
        client.update("bob", "1")
        client.list_all()  # the write is stored before anyone compares
    assert cluster.agreed(b"ana") == [(b"bob", b"1")]

    for proof in (
        b"",
        make_proof(b"another secret", b"fake-peer", time.time()),
        make_proof(SECRET.encode(), b"fake-peer", 0),
    ):
        with pytest.raises(ConnectionError):
            RawConnection.peer(first.port, proof=proof)
    good = make_proof(SECRET.encode(), b"fake-peer", time.time())
    peer = RawConnection.peer(first.port, proof=good)
    assert peer.replica_name == first.name.encode()
    peer.close()
    with pytest.raises(ConnectionError):
        RawConnection.peer(first.port, proof=good)  # the same handshake again: a replay
    log = first.log()
    for reason in ("no proof", "does not match", "not within", "used before"):
        assert reason in log
