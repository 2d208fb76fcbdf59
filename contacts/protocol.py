"""The contacts replica wire format (docs/protocols/contacts.md) as pure code: dataclasses, encode, decode, no I/O.

Integers are 4-byte big-endian unsigned; a string of width W is at most W-1 bytes,
NUL-padded to W. A stream reader reads the command byte, asks `*_payload_size` how many
bytes follow, reads exactly that many and hands both to `decode_*_frame`.

The frames a replica builds once per update (ClientUpdate, ClientDelete, Update, Delete)
are plain slotted dataclasses, not frozen ones: a frozen one costs several times as much
to build (bench/README.md, "Contacts"), and nothing mutates a frame once built.

String fields are `bytes` here, never `str`: the Go replica stores whatever bytes arrive,
and the original's `client.py` cuts a name at 255 bytes, in the middle of a character
when the name is long and not ASCII. Meant as UTF-8, they are not checked, so every
replica stores, compares and sends back exactly what it was sent; only pages and the
admin turn them into text (`contacts.models.shown`).
"""

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

NAME_WIDTH = 256
PHONE_WIDTH = 20
MAX_CLOCK = 2**32 - 1

ROLE_SERVER = 1
ROLE_CLIENT = 2

HEADER_SIZE = 1
HANDSHAKE_SIZE = 1 + NAME_WIDTH
COUNT_SIZE = 4
ENTRY_SIZE = NAME_WIDTH + PHONE_WIDTH

_U32 = struct.Struct(">I")
_ENTRY = struct.Struct(f">{NAME_WIDTH}s{PHONE_WIDTH}s")
_NAME = struct.Struct(f">{NAME_WIDTH}s")
_SERVER_UPDATE = struct.Struct(f">I{NAME_WIDTH}s{NAME_WIDTH}s{PHONE_WIDTH}s")
_SERVER_DELETE = struct.Struct(f">I{NAME_WIDTH}s{NAME_WIDTH}s")
_HEARTBEAT = struct.Struct(">BI")


class ProtocolError(ValueError):
    """Bytes that are not a valid frame, or a value that cannot be put on the wire."""


# --- fields ---


def encode_string(value: bytes, width: int) -> bytes:
    """`value` (bytes), checked to fit: `struct` pads it with NUL to `width`.

    Refuses what a reader could not get back: W bytes or more (no room for the NUL), or a
    NUL inside (readers stop at the first one).
    """
    if not isinstance(value, bytes):
        raise ProtocolError(f"a string field is bytes, not {type(value).__name__}: encode text as UTF-8 first")
    if len(value) >= width:
        raise ProtocolError(f"{value[:20]!r}… is {len(value)} bytes; at most {width - 1} fit a {width}-byte field")
    if b"\0" in value:
        raise ProtocolError("a string field cannot contain NUL")
    return value


def decode_string(field: bytes) -> bytes:
    """The bytes of a NUL-padded field up to the first NUL, which must exist; not checked as UTF-8."""
    end = field.find(b"\0")
    if end < 0:
        raise ProtocolError(f"over-long string: no NUL in a {len(field)}-byte field")
    return field[:end]


def encode_clock(clock: int) -> int:
    if not isinstance(clock, int) or not 0 <= clock <= MAX_CLOCK:
        raise ProtocolError(f"clock {clock!r} is not a 4-byte unsigned integer")
    return clock


# --- handshake ---


@dataclass(frozen=True, slots=True)
class Handshake:
    """The first bytes of a connection: who is calling (server or client), its name, and an optional proof.

    `proof` rides in the name field after the name's NUL, where every reader (the Go
    replica's too) stops: a replica that shares `CONTACTS_PEER_SECRET` puts its
    authenticator there (contacts/peer_auth.py), and a peer that knows no secret ignores it.
    It holds no NUL (the padding after it is NUL).
    """

    role: int
    name: bytes
    proof: bytes = b""

    def encode(self) -> bytes:
        if self.role not in (ROLE_SERVER, ROLE_CLIENT):
            raise ProtocolError(f"unknown role {self.role!r}")
        name = encode_string(self.name, NAME_WIDTH)
        if b"\0" in self.proof:
            raise ProtocolError("a handshake proof cannot contain NUL")
        if self.proof and len(name) + 1 + len(self.proof) > NAME_WIDTH:
            raise ProtocolError(f"a {len(name)}-byte name leaves no room for a {len(self.proof)}-byte proof")
        field = name + b"\0" + self.proof if self.proof else name
        return bytes([self.role]) + _NAME.pack(field)


def decode_handshake(data: bytes) -> Handshake:
    """A handshake; an empty name is refused (no replica or user is called nothing)."""
    if len(data) != HANDSHAKE_SIZE:
        raise ProtocolError(f"a handshake is {HANDSHAKE_SIZE} bytes, got {len(data)}")
    if data[0] not in (ROLE_SERVER, ROLE_CLIENT):
        raise ProtocolError(f"unknown role byte {data[0]}")
    name = decode_string(data[1:])
    if not name:
        raise ProtocolError("a handshake must name its replica or user")
    return Handshake(data[0], name, data[2 + len(name) :].rstrip(b"\0"))


def encode_name(name: bytes) -> bytes:
    """The listener's answer to a server handshake: its own 256-byte name."""
    return _NAME.pack(encode_string(name, NAME_WIDTH))


def decode_name(data: bytes) -> bytes:
    if len(data) != NAME_WIDTH:
        raise ProtocolError(f"a name is {NAME_WIDTH} bytes, got {len(data)}")
    return decode_string(data)


# --- client commands ---


@dataclass(slots=True)
class ClientUpdate:
    contact: bytes
    phone: bytes

    command = 1

    def encode(self) -> bytes:
        return b"\x01" + _ENTRY.pack(encode_string(self.contact, NAME_WIDTH), encode_string(self.phone, PHONE_WIDTH))


@dataclass(slots=True)
class ClientDelete:
    contact: bytes

    command = 2

    def encode(self) -> bytes:
        return b"\x02" + _NAME.pack(encode_string(self.contact, NAME_WIDTH))


@dataclass(frozen=True, slots=True)
class ListAll:
    command = 3

    def encode(self) -> bytes:
        return b"\x03"


# What a client sends after its handshake.
ClientFrame = ClientUpdate | ClientDelete | ListAll

CLIENT_PAYLOAD_SIZES = {1: ENTRY_SIZE, 2: NAME_WIDTH, 3: 0}


def client_payload_size(command: int) -> int:
    """How many bytes follow a client command byte; unknown commands are a protocol error."""
    try:
        return CLIENT_PAYLOAD_SIZES[command]
    except KeyError:
        raise ProtocolError(f"unknown client command {command}")


def decode_client_frame(command: int, payload: bytes) -> ClientFrame:
    if len(payload) != client_payload_size(command):
        raise ProtocolError(f"client command {command} needs {CLIENT_PAYLOAD_SIZES[command]} bytes, got {len(payload)}")
    if command == 3:
        return ListAll()
    contact = decode_string(payload[:NAME_WIDTH])
    if not contact:
        # Refused, not stored: a contact without a name could be listed but never told apart.
        raise ProtocolError("a contact must have a name")
    if command == 1:
        return ClientUpdate(contact, decode_string(payload[NAME_WIDTH:]))
    return ClientDelete(contact)


# --- the ListAll answer ---


def encode_contact_list(entries: Sequence[tuple[bytes, bytes]]) -> bytes:
    """count(4) then count x (contact(256) phone(20)), as one buffer so it goes in one write."""
    parts = [_U32.pack(len(entries))]
    pack = _ENTRY.pack
    for contact, phone in entries:
        # encode_string's checks, inline: this runs once per contact of a list.
        if (
            type(contact) is not bytes
            or type(phone) is not bytes
            or len(contact) >= NAME_WIDTH
            or len(phone) >= PHONE_WIDTH
            or b"\0" in contact
            or b"\0" in phone
        ):
            encode_string(contact, NAME_WIDTH), encode_string(phone, PHONE_WIDTH)  # raises, saying which
        parts.append(pack(contact, phone))
    return b"".join(parts)


def decode_count(data: bytes) -> int:
    if len(data) != COUNT_SIZE:
        raise ProtocolError(f"a count is {COUNT_SIZE} bytes, got {len(data)}")
    return _U32.unpack(data)[0]


def decode_entry(data: bytes) -> tuple[bytes, bytes]:
    if len(data) != ENTRY_SIZE:
        raise ProtocolError(f"a contact entry is {ENTRY_SIZE} bytes, got {len(data)}")
    return decode_string(data[:NAME_WIDTH]), decode_string(data[NAME_WIDTH:])


def decode_contact_list(data: bytes) -> list[tuple[bytes, bytes]]:
    count = decode_count(data[:COUNT_SIZE])
    if len(data) != COUNT_SIZE + count * ENTRY_SIZE:
        raise ProtocolError(f"a list of {count} contacts is {COUNT_SIZE + count * ENTRY_SIZE} bytes, got {len(data)}")
    return [decode_entry(data[at : at + ENTRY_SIZE]) for at in range(COUNT_SIZE, len(data), ENTRY_SIZE)]


# --- server commands ---


@dataclass(slots=True)
class Update:
    clock: int
    user: bytes
    contact: bytes
    phone: bytes

    command = 1

    def encode(self) -> bytes:
        return b"\x01" + _SERVER_UPDATE.pack(
            encode_clock(self.clock),
            encode_string(self.user, NAME_WIDTH),
            encode_string(self.contact, NAME_WIDTH),
            encode_string(self.phone, PHONE_WIDTH),
        )


@dataclass(slots=True)
class Delete:
    clock: int
    user: bytes
    contact: bytes

    command = 2

    def encode(self) -> bytes:
        return b"\x02" + _SERVER_DELETE.pack(
            encode_clock(self.clock), encode_string(self.user, NAME_WIDTH), encode_string(self.contact, NAME_WIDTH)
        )


@dataclass(frozen=True, slots=True)
class HeartBeat:
    clock: int
    status: int = 1

    command = 3

    def encode(self) -> bytes:
        if not 0 <= self.status <= 255:
            raise ProtocolError(f"heartbeat status {self.status!r} is not one byte")
        return b"\x03" + _HEARTBEAT.pack(self.status, encode_clock(self.clock))


@dataclass(frozen=True, slots=True)
class UpdateClock:
    """Accepted from Go peers; never sent (the Go server does not read its payload)."""

    clock: int

    command = 4

    def encode(self) -> bytes:
        return b"\x04" + _U32.pack(encode_clock(self.clock))


@dataclass(frozen=True, slots=True)
class AskForUpdate:
    command = 5

    def encode(self) -> bytes:
        return b"\x05"


# What a peer replica sends after its handshake.
ServerFrame = Update | Delete | HeartBeat | UpdateClock | AskForUpdate
Frame = ClientFrame | ServerFrame

SERVER_PAYLOAD_SIZES = {1: _SERVER_UPDATE.size, 2: _SERVER_DELETE.size, 3: _HEARTBEAT.size, 4: 4, 5: 0}


def server_payload_size(command: int) -> int:
    """How many bytes follow a server command byte; unknown commands are a protocol error."""
    try:
        return SERVER_PAYLOAD_SIZES[command]
    except KeyError:
        raise ProtocolError(f"unknown server command {command}")


def decode_server_frame(command: int, payload: bytes) -> ServerFrame:
    if len(payload) != server_payload_size(command):
        raise ProtocolError(f"server command {command} needs {SERVER_PAYLOAD_SIZES[command]} bytes, got {len(payload)}")
    if command == 1:
        clock, user, contact, phone = _SERVER_UPDATE.unpack(payload)
        return Update(clock, decode_string(user), decode_string(contact), decode_string(phone))
    if command == 2:
        clock, user, contact = _SERVER_DELETE.unpack(payload)
        return Delete(clock, decode_string(user), decode_string(contact))
    if command == 3:
        status, clock = _HEARTBEAT.unpack(payload)
        return HeartBeat(clock, status)
    if command == 4:
        return UpdateClock(_U32.unpack(payload)[0])
    return AskForUpdate()


def decode_frames(
    data: bytes, payload_size: Callable[[int], int], decode_frame: Callable[[int, bytes], Frame]
) -> tuple[list[Frame], int, ProtocolError | None]:
    """The whole frames at the start of `data`: (frames, bytes they take, the ProtocolError that stopped them or None).

    For a stream read in chunks: `payload_size` and `decode_frame` are the client or the
    server ones. What follows the frames is a frame still arriving, unless there is an
    error: the frames before a bad one are returned, so they stand.
    """
    frames, at, end = [], 0, len(data)
    try:
        while at < end:
            command = data[at]
            size = payload_size(command)
            if at + 1 + size > end:
                break
            frames.append(decode_frame(command, data[at + 1 : at + 1 + size]))
            at += 1 + size
    except ProtocolError as error:
        return frames, at, error
    return frames, at, None


def frame_size(data: bytes, payload_size: Callable[[int], int]) -> int:
    """The whole size of the frame that `data` begins (command byte included)."""
    return 1 + payload_size(data[0])


def decode_client_bytes(data: bytes) -> ClientFrame:
    """A whole client frame (command byte included), for tests and fuzzing."""
    if not data:
        raise ProtocolError("empty frame")
    return decode_client_frame(data[0], data[1:])


def decode_server_bytes(data: bytes) -> ServerFrame:
    """A whole server frame (command byte included), for tests and fuzzing."""
    if not data:
        raise ProtocolError("empty frame")
    return decode_server_frame(data[0], data[1:])
