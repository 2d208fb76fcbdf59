"""Grammar-aware fuzzing of every WebSocket entry point, checked frame by frame against a model.

Each strategy builds mostly valid frames of its dialect and mutates at most one field of
each (a wrong type, empty, over the limit, a Unicode edge case, missing) or adds an
extra key; a few frames are not JSON objects at all. For every frame a small model of
the protocol, written from SPEC rather than from the code, says what must happen: the
answer the socket gets, and the rows that must then be stored. After each answer the
stored rows (chat, /auth sessions, signaling, name server, contacts) must equal the
model's, while the connection is still open. Every text the server sends must be valid
UTF-8, as a real server has to encode it.

`test_most_fuzzed_frames_are_valid_writes...` keeps the strategies honest: a fuzzer that
rarely reaches a write proves little.
"""

import json
import re
from dataclasses import dataclass, field

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chatsite.asgi import application
from chatsite.core.names import name_key
from contacts.models import Contact, Replica
from messaging import services
from messaging.models import ChatSession, Message, Room
from nameserver.models import Client
from signaling import services as signaling_services
from signaling.models import ActiveConnection
from tests.security.conftest import stored_state
from tests.signaling.conftest import close_thread_connections, cookie_header

pytestmark = pytest.mark.django_db(transaction=True)

fuzzing = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ROOM_LIMIT, ID_LIMIT, NICK_LIMIT = 50, 200, 50
TEXT_LIMIT = 10500
DEPTH_LIMIT = 32  # JSON_MAX_DEPTH: arrays and objects nested deeper make a bad frame
SERVER_TYPES = {"ERROR", "TARGET_NOT_FOUND", "KICKED", "UNAUTHENTICATED", "ALREADY_EXISTS"}
NICKNAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9-]+")

# --- strategies -----------------------------------------------------------------------

WRONG_TYPES = st.sampled_from([None, True, False, 0, 7, -1.5, [], ["x"], {}, {"a": 1}])
BLANKS = st.sampled_from(["", " ", "\t\n ", "\u00a0", "\u3000"])
UNICODE_EDGES = st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udfff", "\u200b", "\ufeff", "e\u0301", "\u202eabc", "😀", "İ", "x\n", "\r\n", "ß"]
)


def nested_list(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


# Values whose frame is nested just within or just beyond DEPTH_LIMIT (the frame's object adds a level).
NEAR_THE_DEPTH_LIMIT = st.integers(DEPTH_LIMIT - 4, DEPTH_LIMIT + 1).map(nested_list)
EXTRA_KEYS = st.dictionaries(
    st.sampled_from(["from", "sender", "originator", "created", "seq", "x"]),
    st.one_of(*[WRONG_TYPES] * 5, NEAR_THE_DEPTH_LIMIT),
    min_size=1,
)


def plain_text(max_size):
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=max_size).filter(
        lambda text: text.strip()
    )


def over(limit):
    return st.sampled_from(["x" * (limit + 1), " " + "ж" * (limit + 1) + " "])


def at_the_limit(limit):
    return st.sampled_from([" " + "ж" * limit + " ", "x" * limit])


def mutated(valid, limit):
    """A string field: valid, or one kind of invalid or edge value."""
    return st.one_of(
        valid,
        valid,
        at_the_limit(limit),
        WRONG_TYPES,
        BLANKS,
        over(limit),
        UNICODE_EDGES,
        st.tuples(valid, UNICODE_EDGES).map("".join),
    )


@dataclass(frozen=True)
class Frame:
    """What the client sends: the decoded value (None for bytes or non-JSON) and the wire form."""

    data: object
    text: str | None = None
    data_bytes: bytes | None = None

    def message(self):
        if self.data_bytes is not None:
            return {"type": "websocket.receive", "bytes": self.data_bytes}
        return {"type": "websocket.receive", "text": self.text}


@st.composite
def one_field_mutated(draw, valid_fields, field_mutations):
    """A valid frame, then at most one field mutated, removed, or extra keys added."""
    frame = {name: draw(strategy) for name, strategy in valid_fields.items()}
    choice = draw(st.sampled_from([None, None, None, "extra", *[f"drop:{name}" for name in valid_fields]]))
    mutate = draw(st.sampled_from(sorted(field_mutations)))
    if draw(st.booleans()):
        frame[mutate] = draw(field_mutations[mutate])
    elif choice == "extra":
        frame.update(draw(EXTRA_KEYS))
    elif choice:
        frame.pop(choice.removeprefix("drop:"), None)
    return frame


# Text Python's json module reads (or fails on with RecursionError) that is not JSON: a bad frame
# in every dialect. The NaN frames are valid frames of each dialect but for the number.
NOT_JSON = st.sampled_from(
    [
        Frame(None, "[" * 3000),
        Frame(None, "[" * 3000 + "]" * 3000),
        Frame(None, '{"a":' * 3000),
        *(
            Frame(
                None,
                f'{{"room": "r", "text": "t", "type": "message", "args": {{"body": "b", "x": {number}}}, '
                f'"target": "peer", "payload": {number}}}',
            )
            for number in ("NaN", "Infinity", "-Infinity", "1e400")
        ),
    ]
)


def encoded(frames):
    """JSON text (escaped or raw UTF-8 as it can be), with a few frames that are not JSON objects."""

    def to_frame(data, ascii_only):
        try:
            text = json.dumps(data, ensure_ascii=ascii_only)
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate travels escaped, as a real client sends it
            text = json.dumps(data)
        return Frame(data, text)

    garbage = st.sampled_from(
        [Frame(None, "not json"), Frame(None, "[1, 2]"), Frame(None, '"text"'), Frame(None, "null"), Frame(None, "")]
    ) | st.binary(max_size=20).map(lambda data: Frame(None, data_bytes=data))
    json_frames = st.tuples(frames, st.booleans()).map(lambda pair: to_frame(*pair))
    return st.integers(0, 9).flatmap(lambda n: (garbage | NOT_JSON) if n == 0 else json_frames)


ROOMS = st.sampled_from(["global", " Global ", "Kozma", "KOZMA", "tea", "ünïcode"]) | plain_text(ROOM_LIMIT)
nane_frames = encoded(
    one_field_mutated(
        {"room": ROOMS, "text": plain_text(40), "id": plain_text(12)},
        {
            "room": mutated(ROOMS, ROOM_LIMIT),
            "text": mutated(plain_text(40), TEXT_LIMIT),
            "id": mutated(plain_text(12), ID_LIMIT),
        },
    )
    | st.sampled_from([{"ping": True}, {"ping": 1}, {"ping": "true"}, {"ping": True, "room": "r", "text": "t"}])
)

NICKNAMES = st.from_regex(r"[_a-zA-Z][_a-zA-Z0-9-]{1,12}", fullmatch=True) | st.sampled_from(["peer", "fuzzer", "x"])
COMMAND_ARGS = {
    "message": {"body": plain_text(40)},
    "createroom": {"name": ROOMS},
    "switchroom": {"room": ROOMS},
    "setnick": {"nickname": NICKNAMES},
}
ARG_MUTATIONS = {
    "body": mutated(plain_text(40), TEXT_LIMIT),
    "name": mutated(ROOMS, ROOM_LIMIT),
    "room": mutated(ROOMS, ROOM_LIMIT),
    # Half of them near-misses of the nickname rule: a trailing newline, a space, a dot, reserved.
    "nickname": st.sampled_from(
        [mutated(NICKNAMES, NICK_LIMIT), st.sampled_from(["alice\n", "a b", "system", "ali.ce", "peer"])]
    ).flatmap(lambda strategy: strategy),
}


@st.composite
def token_command(draw):
    kind = draw(st.sampled_from(["message", "message", "createroom", "createroom", "switchroom", "setnick"]))
    args = draw(one_field_mutated(COMMAND_ARGS[kind], {name: ARG_MUTATIONS[name] for name in COMMAND_ARGS[kind]}))
    command = {"type": kind, "args": args}
    envelope = draw(st.sampled_from([None] * 8 + ["type", "args", "extra"]))
    if envelope == "type":
        command["type"] = draw(WRONG_TYPES | st.sampled_from(["MESSAGE", "dance", "", " message"]))
    elif envelope == "args":
        command["args"] = draw(WRONG_TYPES)
    elif envelope == "extra":
        command.update(draw(EXTRA_KEYS))
    return command


token_frames = encoded(
    token_command() | st.sampled_from([{"type": "listrooms"}, {"type": "listusers", "args": []}, {"type": "exit"}])
)

TARGETS = st.sampled_from(["peer", "PEER", "fuzzer", "nobody", "carol"])
PAYLOADS = st.recursive(
    # Finite numbers only: NaN and Infinity are not JSON, and NOT_JSON sends them on purpose.
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
signal_frames = encoded(
    one_field_mutated(
        {"target": TARGETS, "type": st.sampled_from(["offer", "answer", "candidate", "hangup"]), "payload": PAYLOADS},
        {
            "target": mutated(TARGETS, 60),
            "type": mutated(st.sampled_from(["offer", "x"]), 60) | st.sampled_from(sorted(SERVER_TYPES)),
            "payload": PAYLOADS | UNICODE_EDGES | NEAR_THE_DEPTH_LIMIT,
        },
    )
)

# --- the model --------------------------------------------------------------------------


def cleaned(value, limit):
    """The trimmed string SPEC stores, or None when it must be refused."""
    if not isinstance(value, str) or "\x00" in value or not valid_unicode(value):
        return None
    value = value.strip()
    return value if 1 <= len(value) <= limit else None


def valid_unicode(value):
    return not any("\ud800" <= char <= "\udfff" for char in value)


def depth(value):
    """How deeply arrays and objects nest in a JSON value (a scalar: 0)."""
    if isinstance(value, list | dict):
        children = value.values() if isinstance(value, dict) else value
        return 1 + max(map(depth, children), default=0)
    return 0


ERROR, PONG, CLOSE, NOTHING = "error", "pong", "close", "nothing"


@dataclass
class Chat:
    """What the chat must have stored: rooms by key, messages in order, token sessions."""

    rooms: dict
    messages: list
    sessions: list = field(default_factory=list)

    @classmethod
    def of(cls, state):
        return cls(dict(state["rooms"]), [row[:1] + row[2:] for row in state["messages"]], list(state["chat sessions"]))

    def post(self, room, sender, text, client_id=None):
        """Store a message; the room's display name and the message's number in it."""
        self.rooms.setdefault(room.lower(), room)
        self.messages.append((room.lower(), sender, text, client_id))
        return self.rooms[room.lower()], sum(message[0] == room.lower() for message in self.messages)

    def matches(self, state):
        messages = [row[:1] + row[2:] for row in state["messages"]]
        assert dict(state["rooms"]) == self.rooms
        # Rows come by room, then in the order stored.
        assert messages == sorted(self.messages, key=lambda message: message[0])
        assert sorted(state["chat sessions"]) == sorted(self.sessions)


def nane_outcome(frame, chat):
    """The answer a nane frame must get, storing what it must store in `chat`."""
    data = frame.data
    if frame.text is not None and len(frame.text.encode()) > django_settings.WS_MAX_FRAME_BYTES:
        return CLOSE
    if not isinstance(data, dict) or depth(data) > DEPTH_LIMIT:
        return ERROR
    if data.get("ping") is True:
        return PONG
    client_id = data.get("id")
    if "id" in data and not (
        isinstance(client_id, str)
        and len(client_id) <= ID_LIMIT
        and "\x00" not in client_id
        and valid_unicode(client_id)
    ):
        return ERROR
    room, text = cleaned(data.get("room"), ROOM_LIMIT), cleaned(data.get("text"), TEXT_LIMIT)
    if room is None or text is None:
        return ERROR
    name, seq = chat.post(room, "fuzzer", text, data.get("id"))
    echo = {"room": name, "text": text, "sender": {"username": "fuzzer"}, "seq": seq}
    return {"id": data["id"], **echo} if "id" in data else echo


@dataclass
class TokenSession:
    nick: str
    room: str  # key

    def session_row(self, connected=True, ended=False):
        return (self.nick, connected, ended, self.room)


def system(body):
    return {"from": "system", "body": body}


def token_outcome(frame, chat, me, taken):
    """The answer a token command must get, changing `chat` and `me` as it must."""
    data = frame.data
    if frame.text is not None and len(frame.text.encode()) > django_settings.WS_MAX_FRAME_BYTES:
        return CLOSE
    if not isinstance(data, dict) or depth(data) > DEPTH_LIMIT or not isinstance(data.get("type"), str):
        return ERROR
    kind, args = data["type"], data.get("args") if isinstance(data.get("args"), dict) else {}
    needed = {"message": "body", "setnick": "nickname", "switchroom": "room", "createroom": "name"}
    if kind not in (*needed, "listusers", "listrooms", "exit"):
        return ERROR
    if kind in needed and not isinstance(args.get(needed[kind]), str):
        return ERROR
    old = me.session_row()
    if kind == "message":
        body = cleaned(args["body"], TEXT_LIMIT)
        if body is None:
            return ERROR
        chat.post(chat.rooms[me.room], me.nick, body)
        return {"from": me.nick, "body": body}
    if kind == "setnick":
        nick = args["nickname"]
        # Names are one whatever their letter case (chatsite/core/names.py; nicknames are ASCII).
        if not (NICKNAME.fullmatch(nick) and len(nick) <= NICK_LIMIT and nick.lower() != "system") or (
            nick.lower() in taken
        ):
            return ERROR
        if nick == me.nick:
            return NOTHING
        me.nick = nick
    elif kind in ("switchroom", "createroom"):
        if kind == "switchroom":
            room = args["room"].strip().lower() if valid_unicode(args["room"]) else None
            if room not in chat.rooms or room == me.room:
                return ERROR
        else:
            name = cleaned(args["name"], ROOM_LIMIT)
            if name is None or name.lower() in chat.rooms:
                return ERROR
            room = name.lower()
            chat.rooms[room] = name
        me.room = room
        chat.sessions[chat.sessions.index(old)] = me.session_row()
        return system(f"{me.nick} joined")
    elif kind == "listusers":
        return system(me.nick)
    elif kind == "listrooms":
        return system("\n".join(sorted(chat.rooms.values(), key=str.lower)))
    elif kind == "exit":
        chat.sessions[chat.sessions.index(old)] = me.session_row(ended=True)
        return CLOSE
    chat.sessions[chat.sessions.index(old)] = me.session_row()
    return system(f"{old[0]} is now {me.nick}")


def signal_outcome(frame):
    """(which socket hears, the frame it gets); nothing is ever stored."""
    data = frame.data
    if frame.text is not None and len(frame.text.encode()) > django_settings.WS_MAX_FRAME_BYTES:
        return "fuzzer", CLOSE
    if frame.data_bytes is not None or not isinstance(data, dict) or depth(data) > DEPTH_LIMIT:
        return "fuzzer", ERROR
    target, kind = data.get("target"), data.get("type")
    if not isinstance(target, str) or not target or not isinstance(kind, str) or not kind or kind in SERVER_TYPES:
        return "fuzzer", ERROR
    if not valid_unicode(json.dumps(data, ensure_ascii=False)):
        return "fuzzer", ERROR
    forwarded = {"target": target, "type": kind, "originator": "fuzzer", "payload": data.get("payload")}
    if name_key(target) in ("fuzzer", "peer"):  # the server's identity key: case, NFKC, spaces folded
        return name_key(target), forwarded
    return "fuzzer", {"target": target, "type": "TARGET_NOT_FOUND", "payload": None}


# --- the exchange -----------------------------------------------------------------------


@database_sync_to_async
def seed():
    """The same starting rows for every example: two rooms, a message, a reserved nickname,
    a signaling pair, a name-server client and a contacts replica that nothing may touch."""
    for model in (Message, Room, ChatSession, ActiveConnection, Client, Contact, Replica):
        model.objects.all().delete()
    global_room = Room.objects.create(key="global", name="global")
    services.post_message(room_name="Kozma", sender="seed", text="first")
    services.issue_token("peer")
    for name in ("fuzzer", "peer"):
        signaling_services.SignalingUser.objects.get_or_create(username=name, key=name)
    Client.objects.create(ip="10.0.0.1", port=9, name="seed", connected=global_room.created)
    replica = Replica.objects.create(name="seed-replica", clock=3)
    Contact.objects.create(replica=replica, user=b"ana", name=b"bob", phone=b"1", clock=3)


def decoded(output):
    """A sent frame as JSON, after checking a real server could put it on the wire."""
    assert output["type"] == "websocket.send", output
    output["text"].encode("utf-8")  # a lone surrogate here would kill the socket of a real server
    return json.loads(output["text"])


def assert_answer(output, expected, frame):
    if expected == CLOSE:
        assert output["type"] == "websocket.close", (frame, output)
        return
    answer = decoded(output)
    if expected == ERROR:
        said_why = answer.get("error") or (answer.get("type") == "ERROR" and answer.get("payload"))
        assert said_why or (answer.get("from") == "system" and answer.get("body")), (frame, answer)
        assert "sender" not in answer, (frame, answer)
        assert "originator" not in answer, (frame, answer)
    elif expected == PONG:
        assert answer == {"pong": True}, (frame, answer)
    else:
        answer.pop("created", None)
        assert answer == expected, frame


async def open_socket(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def command(data):
    return Frame(data, json.dumps(data))


# A frame the parser cannot take, then a good one: the socket must still be there to answer it.
HOSTILE_THEN_GOOD = {
    "nested": lambda good: [Frame(None, "[" * 3000), good],
    "NaN": lambda good: [Frame(None, '{"room": "r", "text": "t", "x": NaN}'), good],
    "just too deep": lambda good: [command({**good.data, "x": nested_list(DEPTH_LIMIT)}), good],
}


@fuzzing
@given(sent=st.lists(nane_frames, min_size=1, max_size=4))
@example(sent=HOSTILE_THEN_GOOD["nested"](Frame({"room": "r", "text": "t"}, '{"room": "r", "text": "t"}')))
@example(sent=HOSTILE_THEN_GOOD["NaN"](Frame({"ping": True}, '{"ping": true}')))
@example(sent=HOSTILE_THEN_GOOD["just too deep"](Frame({"room": "r", "text": "t"}, '{"room": "r", "text": "t"}')))
async def test_fuzzed_nane_frames_get_the_models_answer_and_store_exactly_what_it_says(sent):
    await seed()
    socket = await open_socket("/ws?username=fuzzer", [])
    # Taken once the socket is open: its username is a row of the chat's names.
    chat = Chat.of(await stored_state())
    before = await stored_state()
    try:
        for frame in sent:
            expected = nane_outcome(frame, chat)
            await socket.send_input(frame.message())
            assert_answer(await socket.receive_output(timeout=3), expected, frame)
            state = await stored_state()
            chat.matches(state)
            assert {k: v for k, v in state.items() if k not in ("messages", "rooms")} == {
                k: v for k, v in before.items() if k not in ("messages", "rooms")
            }
            if expected == CLOSE:
                break
    finally:
        await socket.disconnect()
        await close_thread_connections()


@fuzzing
@given(sent=st.lists(token_frames, min_size=1, max_size=4))
@example(sent=[command({"type": "setnick", "args": {"nickname": "alice\n"}})])
@example(sent=[command({"type": "switchroom", "args": {"room": "\ud800"}})])
@example(sent=HOSTILE_THEN_GOOD["nested"](command({"type": "listrooms"})))
@example(sent=HOSTILE_THEN_GOOD["NaN"](command({"type": "listrooms"})))
@example(sent=HOSTILE_THEN_GOOD["just too deep"](command({"type": "message", "args": {"body": "b"}})))
async def test_fuzzed_token_commands_get_the_models_answer_and_store_exactly_what_it_says(sent):
    await seed()
    token = await database_sync_to_async(services.issue_token)("fuzzer")
    socket = await open_socket("/ws", [(b"authorization", f"Bearer {token}".encode())])
    try:
        assert decoded(await socket.receive_output(timeout=3)) == system("fuzzer joined")
        before = await stored_state()
        chat, me = Chat.of(before), TokenSession("fuzzer", "global")
        for frame in sent:
            expected = token_outcome(frame, chat, me, taken={"peer"})
            await socket.send_input(frame.message())
            if expected == NOTHING:  # nothing to wait for: listusers is answered after it
                await socket.send_to(text_data='{"type": "listusers"}')
                expected = system(me.nick)
            assert_answer(await socket.receive_output(timeout=3), expected, frame)
            state = await stored_state()
            chat.matches(state)
            untouched = ("messages", "rooms", "chat sessions")
            assert {k: v for k, v in state.items() if k not in untouched} == {
                k: v for k, v in before.items() if k not in untouched
            }
            if expected == CLOSE:
                break
    finally:
        await socket.disconnect()
        await close_thread_connections()


@fuzzing
@given(sent=st.lists(signal_frames, min_size=1, max_size=4))
@example(sent=HOSTILE_THEN_GOOD["nested"](command({"target": "peer", "type": "offer"})))
@example(sent=[command({"target": "peer", "type": "offer", "payload": nested_list(DEPTH_LIMIT - 1)})])
@example(
    sent=[
        Frame(None, '{"target": "peer", "type": "offer", "payload": {"sdp": NaN}}'),
        Frame(None, '{"target": "peer", "type": "offer", "payload": [Infinity]}'),
        command({"target": "peer", "type": "offer", "payload": nested_list(DEPTH_LIMIT)}),
        command({"target": "peer", "type": "offer", "payload": 1.5}),
    ]
)
async def test_fuzzed_signals_reach_whom_the_model_says_and_store_nothing_while_connected(sent):
    await seed()
    fuzzer = await open_socket("/v1/connect", [cookie_header("fuzzer")])
    peer = await open_socket("/v1/connect", [cookie_header("peer")])
    sockets = {"fuzzer": fuzzer, "peer": peer}
    try:
        before = await stored_state()
        assert before["active connections"] == [("fuzzer",), ("peer",)]
        for frame in sent:
            hearer, expected = signal_outcome(frame)
            await fuzzer.send_input(frame.message())
            assert_answer(await sockets[hearer].receive_output(timeout=3), expected, frame)
            assert await stored_state() == before  # checked with both sockets open
            if expected == CLOSE:
                break
    finally:
        for socket in sockets.values():
            await socket.disconnect()
        await close_thread_connections()


def test_most_fuzzed_frames_are_valid_writes_and_the_rest_are_near_misses():
    """Share of frames the model classes as valid writes (stored message, room created or
    entered, nickname changed; for signaling: forwarded), drawn from each strategy."""
    shares = {}

    def classify(strategy, outcome):
        counts = {"write": 0, "all": 0}

        @settings(max_examples=300, database=None, derandomize=True)
        @given(frame=strategy)
        def draw(frame):
            counts["all"] += 1
            counts["write"] += outcome(frame)

        draw()
        return counts["write"] / counts["all"]

    def nane_write(frame):
        return isinstance(nane_outcome(frame, Chat({"global": "global"}, [])), dict)

    def token_write(frame):
        chat = Chat({"global": "global", "kozma": "Kozma"}, [], [("fuzzer", True, False, "global")])
        answer = token_outcome(frame, chat, TokenSession("fuzzer", "global"), taken={"peer"})
        return isinstance(answer, dict) and answer["body"] != "fuzzer" and "\n" not in answer["body"]

    def signal_write(frame):
        _, answer = signal_outcome(frame)
        return isinstance(answer, dict) and answer.get("originator") == "fuzzer"

    shares["nane"] = classify(nane_frames, nane_write)
    shares["token"] = classify(token_frames, token_write)
    shares["signaling"] = classify(signal_frames, signal_write)
    print("valid-write share per strategy:", {name: round(share, 2) for name, share in shares.items()})
    for name, share in shares.items():
        assert 0.3 <= share <= 0.8, f"{name}: {share:.0%} of fuzzed frames are valid writes"


def test_the_fuzzers_name_every_entry_point():
    """A new WebSocket path needs a fuzzer here too."""
    from chatsite.routing import websocket_urlpatterns

    assert sorted(str(pattern.pattern) for pattern in websocket_urlpatterns) == ["v1/connect", "ws"]
