"""The codec: every frame round-trips, and malformed bytes only ever raise ProtocolError."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contacts import protocol
from contacts.protocol import (
    AskForUpdate,
    ClientDelete,
    ClientUpdate,
    Delete,
    Handshake,
    HeartBeat,
    ListAll,
    ProtocolError,
    Update,
    UpdateClock,
)


def field_bytes(max_bytes):
    """Any bytes that fit a field: no NUL, at most `max_bytes`, UTF-8 or not."""
    return st.binary(max_size=max_bytes).map(lambda value: value.replace(b"\0", b"\x01"))


names, phones = field_bytes(255), field_bytes(19)
named = names.filter(bool)  # clients and handshakes must name their contact, user or replica
clocks = st.integers(0, 2**32 - 1)

client_frames = st.one_of(st.builds(ClientUpdate, named, phones), st.builds(ClientDelete, named), st.just(ListAll()))
server_frames = st.one_of(
    st.builds(Update, clocks, names, names, phones),
    st.builds(Delete, clocks, names, names),
    st.builds(HeartBeat, clocks, st.integers(0, 255)),
    st.builds(UpdateClock, clocks),
    st.just(AskForUpdate()),
)


@given(client_frames)
def test_every_client_frame_round_trips(frame):
    data = frame.encode()
    assert len(data) == 1 + protocol.client_payload_size(data[0])
    assert protocol.decode_client_bytes(data) == frame


@given(server_frames)
def test_every_server_frame_round_trips(frame):
    data = frame.encode()
    assert len(data) == 1 + protocol.server_payload_size(data[0])
    assert protocol.decode_server_bytes(data) == frame


@given(st.sampled_from([1, 2]), named)
def test_every_handshake_round_trips(role, name):
    assert protocol.decode_handshake(Handshake(role, name).encode()) == Handshake(role, name)


@given(named.filter(lambda name: len(name) < 100), field_bytes(100).filter(bool))
def test_a_proof_after_the_name_round_trips_and_a_reader_of_the_name_alone_ignores_it(name, proof):
    wire = Handshake(protocol.ROLE_SERVER, name, proof).encode()
    assert protocol.decode_handshake(wire) == Handshake(protocol.ROLE_SERVER, name, proof)
    assert protocol.decode_name(wire[1:]) == name


def test_an_empty_contact_name_or_handshake_name_is_refused():
    with pytest.raises(ProtocolError, match="contact must have a name"):
        protocol.decode_client_bytes(b"\x01" + b"\0" * 256 + b"123".ljust(20, b"\0"))
    with pytest.raises(ProtocolError, match="contact must have a name"):
        protocol.decode_client_bytes(b"\x02" + b"\0" * 256)
    with pytest.raises(ProtocolError, match="must name"):
        protocol.decode_handshake(b"\x02" + b"\0" * 256)


@given(st.lists(st.tuples(names, phones), max_size=20))
def test_every_contact_list_round_trips(entries):
    assert protocol.decode_contact_list(protocol.encode_contact_list(entries)) == entries


@pytest.mark.parametrize(
    "decode",
    [
        protocol.decode_client_bytes,
        protocol.decode_server_bytes,
        protocol.decode_handshake,
        protocol.decode_contact_list,
        protocol.decode_name,
    ],
)
@given(data=st.binary(max_size=600))
def test_random_bytes_never_crash_a_decoder(decode, data):
    with contextlib.suppress(ProtocolError):
        decode(data)


@given(command=st.integers(0, 255), payload=st.binary(max_size=600))
def test_random_payloads_after_any_command_byte_only_raise_protocol_error(command, payload):
    for decode in (protocol.decode_client_frame, protocol.decode_server_frame):
        with contextlib.suppress(ProtocolError):
            decode(command, payload)


def test_a_name_of_256_bytes_is_refused_by_the_encoder():
    with pytest.raises(ProtocolError, match="at most 255"):
        ClientDelete(b"x" * 256).encode()


def test_a_phone_of_20_bytes_is_refused_by_the_encoder():
    with pytest.raises(ProtocolError, match="at most 19"):
        ClientUpdate(b"ana", b"1" * 20).encode()


def test_a_string_with_nul_cannot_be_encoded():
    with pytest.raises(ProtocolError, match="NUL"):
        ClientDelete(b"a\0b").encode()


def test_a_clock_beyond_four_bytes_cannot_be_encoded():
    with pytest.raises(ProtocolError, match="4-byte"):
        HeartBeat(2**32).encode()


def test_a_field_without_nul_is_an_over_long_string():
    with pytest.raises(ProtocolError, match="over-long"):
        protocol.decode_client_bytes(b"\x02" + b"x" * 256)


def test_bytes_that_are_not_utf8_are_decoded_as_they_are():
    assert protocol.decode_client_bytes(b"\x02" + b"\xff\xfe".ljust(256, b"\0")) == ClientDelete(b"\xff\xfe")


def test_text_must_be_encoded_before_it_goes_on_the_wire():
    with pytest.raises(ProtocolError, match="bytes, not str"):
        ClientDelete("bob").encode()


def test_an_unknown_command_is_refused():
    with pytest.raises(ProtocolError, match="unknown client command 9"):
        protocol.decode_client_bytes(b"\x09")
    with pytest.raises(ProtocolError, match="unknown server command 0"):
        protocol.decode_server_bytes(b"\x00")


def test_a_short_frame_is_refused():
    with pytest.raises(ProtocolError, match="needs 276 bytes, got 10"):
        protocol.decode_client_bytes(b"\x01" + b"\0" * 10)
