"""The two wire dialects of `/ws` (docs/protocols/chat.md): pure decode/encode, no I/O."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from chatsite.core import client_json
from chatsite.core.names import MAX_NAME_LENGTH, name_key, name_problem

MAX_ROOM_NAME_LENGTH = 50
MAX_CLIENT_ID_LENGTH = 200
# Message numbers are 64-bit columns (Message.seq); a bigger one cannot name a message.
MAX_SEQ = 2**63 - 1
SYSTEM = "system"
NICKNAME_RE = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9-]+$")
# A JSON escape like "\ud800" decodes to half a surrogate pair: no UTF-8 encoder (the
# database's, the WebSocket's) takes it, so it is refused where it comes in.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class ProtocolError(Exception):
    """A frame the client got wrong; `str()` is the text the client is sent."""

    def __init__(self, message: str, client_id: object = None, has_id: bool = False) -> None:
        super().__init__(message)
        self.client_id, self.has_id = client_id, has_id


def _dumps(value: object) -> str:
    # Compact and UTF-8 as is: frames are encoded once per message and sent to many.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- names -----------------------------------------------------------------------


def clean_room_name(name: object) -> str:
    """A room name trimmed; raises ProtocolError unless 1 to MAX_ROOM_NAME_LENGTH characters."""
    return clean_text(name, MAX_ROOM_NAME_LENGTH, field="room")


def clean_username(name: object) -> str:
    """A nane username trimmed; ProtocolError unless 1 to MAX_NAME_LENGTH visible characters, not `system`."""
    name = clean_text(name or "", MAX_NAME_LENGTH, field="username")
    problem = name_problem(name, field="username")
    if problem:
        raise ProtocolError(problem)
    if name_key(name) == SYSTEM:
        raise ProtocolError(f"username {name} is reserved")
    return name


def nickname_problem(nickname: object) -> str | None:
    """Why a token-dialect nickname is invalid, or None when it is fine."""
    if not isinstance(nickname, str) or not nickname:
        return "nickname is empty"
    if len(nickname) > MAX_NAME_LENGTH:
        return f"nickname {nickname} is longer than {MAX_NAME_LENGTH} characters"
    if not NICKNAME_RE.fullmatch(nickname):  # `$` alone would let a trailing newline through
        return f"invalid nickname {nickname}: use a letter or _ first, then at least one letter, digit, _ or -"
    if name_key(nickname) == SYSTEM:
        return f"nickname {nickname} is reserved"
    return None


def clean_text(text: object, max_length: int, field: str = "text") -> str:
    if not isinstance(text, str):
        raise ProtocolError(f"{field} must be a string")
    if "\x00" in text:
        # PostgreSQL cannot store it; refused everywhere, so every engine behaves alike.
        raise ProtocolError(f"{field} must not contain NUL characters")
    if LONE_SURROGATE.search(text):
        raise ProtocolError(f"{field} must be valid Unicode (no lone surrogates)")
    text = text.strip()
    if not text:
        raise ProtocolError(f"{field} is empty")
    if len(text) > max_length:
        raise ProtocolError(f"{field} is longer than {max_length} characters")
    return text


# --- nane dialect ----------------------------------------------------------------


@dataclass(frozen=True)
class NaneSend:
    room: str
    text: str
    client_id: str | None = None


@dataclass(frozen=True)
class Recover:
    """`{"recover": {"room", "since"}}`: replay the room's stored messages numbered above `since`."""

    room: str
    since: int
    client_id: str | None = None
    has_id: bool = False


PING = object()
PONG_FRAME = _dumps({"pong": True})


def decode_nane(frame: str | bytes | None, max_text_length: int) -> NaneSend | Recover | object:
    """A client frame as NaneSend, Recover or PING; raises ProtocolError naming what is wrong."""
    try:
        data = client_json.loads(frame)
    except client_json.InvalidJSON as error:
        raise ProtocolError(f"message is not valid JSON: {error.why}" if error.why else "message is not valid JSON")
    if not isinstance(data, dict):
        raise ProtocolError("message must be a JSON object")
    has_id, client_id = "id" in data, data.get("id")
    try:
        if data.get("ping") is True:
            return PING
        if has_id and not isinstance(client_id, str):
            raise ProtocolError("id must be a string")
        if has_id and len(client_id) > MAX_CLIENT_ID_LENGTH:
            raise ProtocolError(f"id is longer than {MAX_CLIENT_ID_LENGTH} characters")
        if has_id and "\x00" in client_id:
            raise ProtocolError("id must not contain NUL characters")
        if has_id and LONE_SURROGATE.search(client_id):
            raise ProtocolError("id must be valid Unicode (no lone surrogates)")
        if "recover" in data:
            room, since = decode_recover(data["recover"])
            return Recover(room=room, since=since, client_id=client_id, has_id=has_id)
        if "room" not in data:
            raise ProtocolError("room is missing")
        if "text" not in data:
            raise ProtocolError("text is missing")
        room = clean_room_name(data["room"])
        text = clean_text(data["text"], max_text_length)
    except ProtocolError as error:
        raise ProtocolError(str(error), client_id, has_id)
    return NaneSend(room=room, text=text, client_id=client_id)


def decode_recover(value: object) -> tuple[str, int]:
    """The (room, since) of a recover frame's `recover` object."""
    if not isinstance(value, dict):
        raise ProtocolError('recover must be an object: {"room": "<name>", "since": <seq>}')
    if "room" not in value:
        raise ProtocolError("recover.room is missing")
    if "since" not in value:
        raise ProtocolError("recover.since is missing")
    return clean_room_name(value["room"]), clean_seq(value["since"], "since", minimum=0)


def clean_seq(value: object, field: str, minimum: int) -> int:
    """A message number as an int from `minimum` to MAX_SEQ; JSON's true and 1.0 are not numbers here."""
    if type(value) is not int or not minimum <= value <= MAX_SEQ:
        raise ProtocolError(f"{field} must be an integer from {minimum} to {MAX_SEQ}")
    return value


def recovered_frame(recover: Recover, recovered: bool, room: str, seq: int) -> str:
    """The answer that ends a replay: whether it reached back to `since + 1`, and the room's newest number."""
    frame = {"recovered": recovered, "room": room, "seq": seq}
    if recover.has_id:
        frame["id"] = recover.client_id
    return _dumps(frame)


def nane_error(error: ProtocolError) -> str:
    frame = {"error": str(error)}
    if error.has_id:
        frame["id"] = error.client_id
    # ASCII escapes: the id echoed may be anything the client sent, lone surrogates included.
    return json.dumps(frame, separators=(",", ":"))


def message_dict(
    *, room: str, seq: int, text: str, sender: str, created: datetime, client_id: str | None = None
) -> dict[str, Any]:
    """A message as nane shows it, on the socket and in `/history`; `seq` is its number in the room.

    `created` always has six fraction digits: plain isoformat() drops them on a whole
    second, and a client parsing one fixed layout would then fail once in a million.
    """
    created = created.isoformat(timespec="microseconds")
    message = {"room": room, "text": text, "created": created, "sender": {"username": sender}, "seq": seq}
    if client_id is not None:
        message = {"id": client_id, **message}
    return message


def nane_frame(**message: Any) -> str:
    return _dumps(message_dict(**message))


def room_and_seq(frame: str) -> tuple[str, int]:
    """The room name and number of a nane message frame."""
    data = json.loads(frame)
    return data["room"], data["seq"]


# --- history paging (HTTP) -------------------------------------------------------

DIGITS = re.compile(r"[0-9]{1,19}")


def history_page(before: str | None, limit: str | None, max_limit: int) -> tuple[int | None, int | None]:
    """`?before=&limit=` of `/history` (strings or None) as ints or None; ProtocolError naming the bad one."""
    return _query_number(before, "before", 1, MAX_SEQ), _query_number(limit, "limit", 1, max_limit)


def _query_number(value: str | None, field: str, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    if not DIGITS.fullmatch(value) or not minimum <= int(value) <= maximum:
        raise ProtocolError(f"{field} must be an integer from {minimum} to {maximum}")
    return int(value)


# --- token dialect ---------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    type: str
    args: dict


COMMANDS = {
    "message": ("body",),
    "setnick": ("nickname",),
    "switchroom": ("room",),
    "createroom": ("name",),
    "listusers": (),
    "listrooms": (),
    "exit": (),
}


def decode_command(frame: str | bytes | None) -> Command:
    """A `{"type", "args"}` frame as a Command whose required args are strings."""
    try:
        data = client_json.loads(frame)
    except client_json.InvalidJSON:
        raise ProtocolError("error parsing your message")  # the original's text, whatever the fault
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("error parsing your message")
    kind, args = data["type"], data.get("args")
    if kind not in COMMANDS:
        raise ProtocolError(f"unknown command {kind}")
    if not isinstance(args, dict):
        args = {}
    for name in COMMANDS[kind]:
        if not isinstance(args.get(name), str) or LONE_SURROGATE.search(args[name]):
            raise ProtocolError(f"cannot parse '{name}' arg of {kind} command")
    return Command(kind, args)


def token_frame(sender: str, body: str) -> str:
    return _dumps({"from": sender, "body": body})


def system_frame(body: str) -> str:
    return token_frame(SYSTEM, body)


# --- handshake -------------------------------------------------------------------


@dataclass(frozen=True)
class Handshake:
    token: str | None = None
    subprotocol: str | None = None  # the offered value to echo back
    username: str | None = None


def read_handshake(scope: dict[str, Any]) -> Handshake:
    """Who a `/ws` handshake says it is: a token (which wins) or a nane username."""
    query = parse_qs(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
    query = {key: values[0] for key, values in query.items()}
    offered = [value.strip() for value in scope.get("subprotocols") or []]
    headers = dict(scope.get("headers") or [])
    token = subprotocol = None
    if len(offered) >= 2 and offered[0].lower() == "bearer":
        token, subprotocol = offered[1], offered[0]
    elif offered:
        value = offered[0]
        token = value[7:].strip() if value.lower().startswith("bearer ") else value
        subprotocol = value
    if not token:
        authorization = headers.get(b"authorization", b"").decode("latin1")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
    token = token or query.get("token") or None
    username = query.get("username", query.get("name"))
    return Handshake(token=token, subprotocol=subprotocol if token else None, username=username)
