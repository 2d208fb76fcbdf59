"""Garbage, short frames and stalls close only the offending connection and change nothing."""

import struct

import pytest

from contacts.protocol import Update
from tests.contacts.conftest import RawConnection, eventually


def field(text, width):
    return text.encode().ljust(width, b"\0")


CLIENT_HELLO = b"\x02" + field("ana", 256)


@pytest.fixture
def replica(cluster):
    replica = cluster.replica()
    with replica.client("ana") as client:
        client.update("kept", "1")
        assert client.list_all() == [(b"kept", b"1")]
    return replica


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"\x07" + field("x", 256), id="unknown-handshake-role"),
        pytest.param(CLIENT_HELLO + b"\x09", id="unknown-command"),
        pytest.param(CLIENT_HELLO + b"\x01" + b"x" * 256 + field("2", 20), id="over-long-contact"),
        pytest.param(CLIENT_HELLO + b"\x01" + field("kept", 256) + b"9" * 20, id="over-long-phone"),
        pytest.param(CLIENT_HELLO + b"\x02" + b"x" * 256, id="over-long-delete"),
    ],
)
def test_garbage_from_a_client_closes_it_and_changes_nothing(replica, garbage):
    connection = RawConnection(replica.port, garbage)
    try:
        assert connection.is_closed_by_server()
    finally:
        connection.close()
    assert replica.list_all(b"ana") == [(b"kept", b"1")]


def test_a_client_that_vanishes_mid_frame_costs_nothing(replica):
    connection = RawConnection(replica.port, CLIENT_HELLO + b"\x01" + field("lost", 100))
    connection.close()
    with replica.client("ana") as client:
        client.update("after", "2")
        assert client.list_all() == [(b"after", b"2"), (b"kept", b"1")]


def test_a_half_frame_then_silence_is_dropped_after_the_read_timeout(replica):
    connection = RawConnection(replica.port, CLIENT_HELLO + b"\x01" + field("half", 100))
    try:
        assert connection.is_closed_by_server(timeout=10)  # CONTACTS_READ_TIMEOUT is 1 s here
    finally:
        connection.close()
    assert replica.list_all(b"ana") == [(b"kept", b"1")]


def test_garbage_from_a_peer_closes_the_link_and_changes_nothing(replica):
    peer = RawConnection.peer(replica.port)
    try:
        peer.sock.sendall(b"\x01" + struct.pack(">I", 99) + field("ana", 256) + field("kept", 256) + b"\x01" * 20)
        assert peer.is_closed_by_server()
    finally:
        peer.close()
    assert replica.list_all(b"ana") == [(b"kept", b"1")]


def test_a_slow_client_does_not_stall_the_others(replica):
    stalled = RawConnection(replica.port, CLIENT_HELLO + b"\x01" + field("half", 10))
    idle = RawConnection(replica.port, CLIENT_HELLO)
    try:
        with replica.client("ana") as client:
            client.update("fast", "3")
            assert client.list_all() == [(b"fast", b"3"), (b"kept", b"1")]
    finally:
        stalled.close()
        idle.close()


def test_valid_frames_before_garbage_from_a_peer_are_kept(replica):
    peer = RawConnection.peer(replica.port)
    try:
        peer.sock.sendall(Update(50, b"ana", b"from-peer", b"7").encode() + b"\xee")
        assert peer.is_closed_by_server()
    finally:
        peer.close()
    assert eventually(lambda: replica.list_all(b"ana") == [(b"from-peer", b"7"), (b"kept", b"1")])
