"""Frames built by hand from the byte layout of docs/protocols/contacts.md, so an encoder bug cannot hide."""

import struct

from contacts import protocol
from contacts.protocol import AskForUpdate, ClientDelete, ClientUpdate, Delete, Handshake, HeartBeat, Update


def field(text, width):
    raw = text.encode()
    return raw + b"\0" * (width - len(raw))


def test_client_handshake_is_role_two_then_a_256_byte_name():
    wire = bytes([2]) + field("Beloin", 256)
    assert len(wire) == 257
    assert Handshake(2, b"Beloin").encode() == wire
    assert protocol.decode_handshake(wire) == Handshake(2, b"Beloin")


def test_client_update_is_command_one_contact_and_phone():
    wire = b"\x01" + field("Juan", 256) + field("85999999999", 20)
    assert len(wire) == 277
    assert ClientUpdate(b"Juan", b"85999999999").encode() == wire
    assert protocol.decode_client_bytes(wire) == ClientUpdate(b"Juan", b"85999999999")


def test_client_delete_is_command_two_and_contact():
    wire = b"\x02" + field("Juan", 256)
    assert ClientDelete(b"Juan").encode() == wire
    assert protocol.decode_client_bytes(wire) == ClientDelete(b"Juan")


def test_list_all_answer_is_big_endian_count_then_entries():
    wire = b"\x00\x00\x00\x02" + field("Ana", 256) + field("1", 20) + field("Zé", 256) + field("2", 20)
    assert protocol.encode_contact_list([(b"Ana", b"1"), ("Zé".encode(), b"2")]) == wire
    assert protocol.decode_contact_list(wire) == [(b"Ana", b"1"), ("Zé".encode(), b"2")]


def test_server_update_is_clock_user_contact_phone():
    wire = b"\x01" + struct.pack(">I", 11) + field("Beloin", 256) + field("Juan", 256) + field("85999999999", 20)
    assert wire[1:5] == b"\x00\x00\x00\x0b"
    assert len(wire) == 1 + 4 + 256 + 256 + 20
    assert Update(11, b"Beloin", b"Juan", b"85999999999").encode() == wire
    assert protocol.decode_server_bytes(wire) == Update(11, b"Beloin", b"Juan", b"85999999999")


def test_server_delete_is_clock_user_contact():
    wire = b"\x02" + (70000).to_bytes(4, "big") + field("Beloin", 256) + field("Juan", 256)
    assert Delete(70000, b"Beloin", b"Juan").encode() == wire
    assert protocol.decode_server_bytes(wire) == Delete(70000, b"Beloin", b"Juan")


def test_heartbeat_is_status_byte_then_clock():
    wire = bytes([3, 1]) + (258).to_bytes(4, "big")
    assert HeartBeat(258).encode() == wire
    assert protocol.decode_server_bytes(wire) == HeartBeat(258, 1)


def test_update_clock_is_accepted_and_ask_for_update_has_no_payload():
    assert protocol.decode_server_bytes(b"\x04\x00\x00\x01\x00") == protocol.UpdateClock(256)
    assert AskForUpdate().encode() == b"\x05"


def test_bytes_after_the_first_nul_are_ignored_by_readers():
    wire = b"\x02" + b"Juan\0leftover".ljust(256, b"\0")
    assert protocol.decode_client_bytes(wire) == ClientDelete(b"Juan")
