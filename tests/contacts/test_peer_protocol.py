"""A replica as a peer sees it: name reply, AskForUpdate, full state, heartbeats, never UpdateClock."""

import time

import pytest

from contacts.protocol import AskForUpdate, Delete, HeartBeat, Update, UpdateClock
from tests.contacts.conftest import RawConnection, eventually


def frames_until(peer, done, timeout=20.0):
    """The frames the replica sends until `done(frames)` holds, answering heartbeats as a live
    peer does; fails after `timeout` (a bound on a broken replica, not a claim about speed)."""
    frames, deadline = [], time.monotonic() + timeout
    while not done(frames):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"after {timeout}s the replica had sent only {frames}")
        peer.sock.settimeout(left)
        try:
            frames.append(peer.read_server_frame())
        except TimeoutError:
            continue
        if isinstance(frames[-1], HeartBeat):
            peer.sock.sendall(HeartBeat(0).encode())
    return frames


def heartbeat_after(*wanted):
    """Done once every wanted frame has come and then a heartbeat.

    A snapshot (under 1,000 frames) is one write, and a heartbeat is a write of its own, so
    a heartbeat that follows the wanted frames on the stream follows the whole snapshot.
    """

    def done(frames):
        if not all(frame in frames for frame in wanted):
            return False
        last = max(frames.index(frame) for frame in wanted)
        return any(isinstance(frame, HeartBeat) for frame in frames[last + 1 :])

    return done


def test_a_server_handshake_gets_the_name_then_ask_for_update(cluster):
    replica = cluster.replica()
    peer = RawConnection.peer(replica.port, name=b"go-replica")
    try:
        assert peer.replica_name == replica.name.encode()
        assert peer.read_server_frame() == AskForUpdate()
    finally:
        peer.close()


def test_ask_for_update_streams_contacts_and_tombstones(cluster):
    replica = cluster.replica()
    with replica.client("ana") as client:
        client.update("bob", "1")
        client.update("eve", "2")
        client.delete("eve")
        client.list_all()
    peer = RawConnection.peer(replica.port)
    try:
        peer.sock.sendall(AskForUpdate().encode())
        frames = frames_until(peer, heartbeat_after(Update(1, b"ana", b"bob", b"1"), Delete(3, b"ana", b"eve")))
    finally:
        peer.close()
    assert Update(2, b"ana", b"eve", b"2") not in frames


def test_heartbeats_carry_the_clock_and_update_clock_is_never_sent(cluster):
    replica = cluster.replica()
    peer = RawConnection.peer(replica.port)
    try:
        peer.sock.sendall(UpdateClock(500).encode() + HeartBeat(40).encode())

        def beats(frames):
            return [frame for frame in frames if isinstance(frame, HeartBeat)]

        # Beats keep coming, and once the clock was pulled they carry it.
        frames = frames_until(peer, lambda frames: len(beats(frames)) >= 2 and beats(frames)[-1].clock == 500)
    finally:
        peer.close()
    assert {beat.status for beat in beats(frames)} == {1}
    assert not any(isinstance(frame, UpdateClock) for frame in frames)


def test_an_update_from_a_peer_is_stored_and_pulls_the_clock(cluster):
    replica = cluster.replica()
    peer = RawConnection.peer(replica.port)
    try:
        peer.sock.sendall(Update(70, b"ana", b"bob", b"9").encode())
        assert eventually(lambda: replica.list_all(b"ana") == [(b"bob", b"9")])
        with replica.client("ana") as client:
            client.update("eve", "1")
        broadcast = eventually(lambda: next(f for f in iter(peer.read_server_frame, None) if isinstance(f, Update)))
        assert broadcast == Update(71, b"ana", b"eve", b"1")
    finally:
        peer.close()


def test_a_silent_peer_is_dropped_after_three_missed_heartbeats(cluster):
    replica = cluster.replica()
    peer = RawConnection.peer(replica.port)
    try:
        assert peer.is_closed_by_server(timeout=10)  # 3 x 0.3 s here
    finally:
        peer.close()


def test_a_replica_redials_a_peer_that_was_down(cluster):
    two = cluster.replica(start=False)
    one = cluster.replica(peers=[two.port])
    with one.client("ana") as client:
        client.update("bob", "1")
        client.list_all()
    two.start()
    assert eventually(lambda: two.list_all(b"ana") == [(b"bob", b"1")])
