"""The nane dialect of docs/protocols/chat.md through WebsocketCommunicator."""

from datetime import datetime
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async

from messaging.models import Message, Room
from tests.messaging.conftest import assert_nothing_came_before_a_marker

pytestmark = pytest.mark.django_db(transaction=True)

count_messages = database_sync_to_async(lambda: Message.objects.count())


async def test_a_message_reaches_every_nane_session_including_the_sender(nane):
    alice, bob = await nane("alice"), await nane("bob")
    await alice.send({"room": " Kozma ", "text": " hello ", "id": "c-1"})
    for client in (alice, bob):
        frame = await client.receive()
        assert datetime.fromisoformat(frame.pop("created")).utcoffset() is not None
        assert frame == {"id": "c-1", "room": "Kozma", "text": "hello", "sender": {"username": "alice"}, "seq": 1}


async def test_a_message_without_id_has_no_id_and_is_stored_once(nane):
    alice = await nane("alice")
    await alice.send({"room": "r", "text": "hi"})
    frame = await alice.receive()
    assert "id" not in frame
    assert await count_messages() == 1


async def test_the_room_keeps_its_first_spelling(nane):
    alice = await nane("alice")
    await alice.send({"room": "Kozma", "text": "one"})
    await alice.send({"room": "KOZMA", "text": "two"})
    assert (await alice.receive())["room"] == "Kozma"
    assert (await alice.receive())["room"] == "Kozma"
    assert await database_sync_to_async(lambda: list(Room.objects.values_list("key", "name")))() == [("kozma", "Kozma")]


async def test_ping_is_answered_with_pong_to_that_client_only(nane):
    alice, bob = await nane("alice"), await nane("bob")
    await alice.send({"ping": True})
    assert await alice.receive() == {"pong": True}
    await assert_nothing_came_before_a_marker(alice, alice, bob)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", {"error": "message is not valid JSON"}),
        ("[1, 2]", {"error": "message must be a JSON object"}),
        ('{"room": "r", "text": "t", "id": 5}', {"error": "id must be a string", "id": 5}),
        ('{"room": "r", "text": "t", "id": "' + "x" * 201 + '"}', {"error": "id is longer than 200 characters"}),
        ('{"text": "t", "id": "a"}', {"error": "room is missing", "id": "a"}),
        ('{"room": "r"}', {"error": "text is missing"}),
        ('{"room": "   ", "text": "t"}', {"error": "room is empty"}),
        ('{"room": 7, "text": "t"}', {"error": "room must be a string"}),
        ('{"room": "r", "text": " "}', {"error": "text is empty"}),
        ('{"room": "r", "text": null}', {"error": "text must be a string"}),
        ('{"room": "' + "r" * 51 + '", "text": "t"}', {"error": "room is longer than 50 characters"}),
        ('{"room": "r", "text": "' + "t" * 10501 + '"}', {"error": "text is longer than 10500 characters"}),
        ('{"room": "r", "text": "a\\u0000b"}', {"error": "text must not contain NUL characters"}),
        ('{"room": "r\\u0000", "text": "t"}', {"error": "room must not contain NUL characters"}),
        ('{"room": "r", "text": "t", "id": "\\u0000"}', {"error": "id must not contain NUL characters", "id": "\x00"}),
        ('{"room": "r", "text": "a\\ud800"}', {"error": "text must be valid Unicode (no lone surrogates)"}),
        (
            '{"room": "r", "text": "t", "id": "\\udfff"}',
            {"error": "id must be valid Unicode (no lone surrogates)", "id": "\udfff"},
        ),
    ],
)
async def test_a_bad_frame_gets_an_error_stores_nothing_and_keeps_the_connection(nane, frame, error):
    alice = await nane("alice")
    await alice.send(frame)
    received = await alice.receive()
    if error["error"].startswith("id is longer"):
        error = {**error, "id": "x" * 201}
    assert received == error
    assert await count_messages() == 0
    await alice.send({"ping": True})
    assert await alice.receive() == {"pong": True}


async def test_limits_are_counted_in_characters_after_trimming(nane):
    alice = await nane("alice")
    await alice.send({"room": "ж" * 50, "text": "  " + "я" * 10500 + "  "})
    frame = await alice.receive()
    assert frame["room"] == "ж" * 50
    assert len(frame["text"]) == 10500


@pytest.mark.parametrize(
    "path",
    [
        "/ws",
        "/ws?username=",
        "/ws?username=%20%20",
        "/ws?username=" + "a" * 51,
        "/ws?username=system",
    ],
)
async def test_a_handshake_without_a_valid_username_is_refused(sockets, path):
    socket = sockets(path)
    assert not await socket.connect()


async def test_name_works_like_username_and_names_are_trimmed(sockets):
    socket = sockets("/ws?name=%20%D0%9A%D0%BE%D0%B7%D1%8C%D0%BC%D0%B0%20")
    assert await socket.connect()
    await socket.send({"room": "r", "text": "hi"})
    assert (await socket.receive())["sender"] == {"username": "Козьма"}


async def test_a_username_of_50_characters_after_trimming_is_accepted(sockets):
    socket = sockets("/ws?username=" + quote(" " + "ж" * 50 + " "))
    assert await socket.connect()
    await socket.send({"room": "r", "text": "hi"})
    assert (await socket.receive())["sender"] == {"username": "ж" * 50}


async def test_a_nane_username_held_by_a_token_session_is_refused(sockets, token_for):
    await token_for("alice")
    assert not await sockets("/ws?username=alice").connect()
    assert await sockets("/ws?username=bob").connect()


async def test_a_closed_nane_session_gets_no_more_messages(nane):
    alice, bob = await nane("alice"), await nane("bob")
    await bob.disconnect()
    await alice.send({"room": "r", "text": "hi"})
    assert (await alice.receive())["text"] == "hi"
