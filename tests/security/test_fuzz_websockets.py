"""Random frames through the real consumers of every WebSocket entry point.

Inputs tried per run: 3 fuzzers (nane `/ws`, token `/ws`, `/v1/connect`) x 100 Hypothesis
examples x 1-3 frames each (random JSON values, dialect-shaped objects with random
values, random text, random bytes): 300 connections and up to 900 frames. Every frame gets
exactly one answer (an error frame, a valid reply, or a clean close), an exception in a
consumer fails the test (the communicator re-raises it), and what is stored changes only
as the answer says: one message for an echoed message, one room for a room created.
"""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsite.asgi import application
from messaging import protocol, services
from signaling import services as signaling_services
from tests.security.conftest import stored_state
from tests.signaling.conftest import close_thread_connections, cookie_header

pytestmark = pytest.mark.django_db(transaction=True)

fuzzing = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
# Mostly near-misses of real frames: that is where the bugs hide.
words = st.sampled_from(["global", " Global ", "kozma", "bob", "me", "", " ", "x" * 51]) | st.text(max_size=12)
nane_shaped = st.fixed_dictionaries(
    {},
    optional={"room": words | json_values, "text": words | json_values, "id": words | json_values, "ping": json_values},
)
token_shaped = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(protocol.COMMANDS)) | json_values},
    optional={
        "args": st.fixed_dictionaries(
            {}, optional={name: words | json_values for name in ("body", "nickname", "room", "name", "from")}
        )
        | json_values
    },
)
signal_shaped = st.fixed_dictionaries(
    {}, optional={"target": words | json_values, "type": words | json_values, "payload": json_values}
)


def frames(shaped):
    as_text = st.one_of(shaped.map(json.dumps), json_values.map(json.dumps), st.text(max_size=80))
    as_frame = as_text.map(lambda text: {"text": text}) | st.binary(max_size=80).map(lambda data: {"bytes": data})
    return st.lists(as_frame, min_size=1, max_size=3)


async def exchange(path, headers, sent, skip=0):
    """Send each frame and collect the one answer to it; stops at a close."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    for _ in range(skip):
        await communicator.receive_from()
    answers = []
    try:
        for frame in sent:
            # Not send_to(), which refuses empty frames: a client may send them.
            await communicator.send_input({"type": "websocket.receive", **frame})
            answer = await communicator.receive_output(timeout=3)
            answers.append(answer)
            if answer["type"] == "websocket.close":
                break
            assert answer["type"] == "websocket.send", answer
    finally:
        await communicator.disconnect()
        await close_thread_connections()
    return answers


def delta(before, after):
    return {key: after[key] - before[key] for key in before if after[key] != before[key]}


@fuzzing
@given(sent=frames(nane_shaped))
async def test_random_frames_to_a_nane_socket_get_an_answer_and_store_only_what_was_echoed(sent):
    before = await stored_state()

    answers = await exchange("/ws?username=fuzzer", [], sent)

    echoed = 0
    for answer in answers:
        frame = json.loads(answer["text"])
        assert set(frame) in ({"error"}, {"error", "id"}, {"pong"}) or frame["sender"] == {"username": "fuzzer"}
        echoed += "sender" in frame
    changes = delta(before, await stored_state())
    assert changes.get("messages", 0) == echoed
    assert set(changes) <= {"messages", "rooms"}


@fuzzing
@given(sent=frames(token_shaped))
async def test_random_commands_to_a_token_socket_get_an_answer_and_store_only_what_was_announced(sent):
    token = await database_sync_to_async(services.issue_token)("fuzzer")
    await database_sync_to_async(services.Room.objects.get_or_create)(key="global", name="global")  # made on connect
    before = await stored_state()

    answers = await exchange("/ws", [(b"authorization", f"Bearer {token}".encode())], sent, skip=1)

    nick, said, created = "fuzzer", 0, 0
    for answer in answers:
        if answer["type"] == "websocket.close":
            continue  # `exit`
        frame = json.loads(answer["text"])
        assert set(frame) == {"from", "body"}, frame
        assert frame["body"], frame
        if frame["from"] == nick:
            said += 1
        elif frame["body"].startswith(f"{nick} is now "):
            nick = frame["body"].removeprefix(f"{nick} is now ")
        created += frame["body"] == f"{nick} joined"
    after = await stored_state()
    await database_sync_to_async(services.end_session)(await session_of(token))
    changes = delta(before, after)
    changes.pop("connected chat sessions", None)  # this socket's own session
    assert changes.get("messages", 0) == said
    assert changes.get("rooms", 0) == created
    assert set(changes) <= {"messages", "rooms"}


@database_sync_to_async
def session_of(token):
    return services.ChatSession.objects.get(pk=services._signer.unsign_object(token)["s"])


@fuzzing
@given(sent=frames(signal_shaped))
async def test_random_frames_to_a_signaling_socket_get_an_answer_and_store_nothing(sent):
    await database_sync_to_async(signaling_services.SignalingUser.objects.get_or_create)(
        username="fuzzer", key="fuzzer"
    )
    before = await stored_state()

    answers = await exchange("/v1/connect", [cookie_header("fuzzer")], sent)

    for answer in answers:
        frame = json.loads(answer["text"])
        if frame["type"] == "ERROR":
            assert frame["payload"], frame  # says why
        else:
            assert frame["type"] == "TARGET_NOT_FOUND" or frame["originator"] == "fuzzer", frame
    assert await stored_state() == before


def test_the_fuzzers_name_every_entry_point():
    """A new WebSocket path needs a fuzzer here too."""
    from chatsite.routing import websocket_urlpatterns

    assert sorted(str(pattern.pattern) for pattern in websocket_urlpatterns) == ["v1/connect", "ws"]
