"""The token dialect of docs/protocols/chat.md through WebsocketCommunicator."""

import pytest
from channels.db import database_sync_to_async

from messaging import services
from messaging.models import ChatSession, Message, Room
from tests.messaging.conftest import assert_nothing_came_before_a_marker

pytestmark = pytest.mark.django_db(transaction=True)

count_messages = database_sync_to_async(lambda: Message.objects.count())
room_names = database_sync_to_async(lambda: sorted(Room.objects.values_list("name", flat=True)))


def system(body):
    return {"from": "system", "body": body}


async def test_the_token_is_accepted_as_subprotocol_and_echoed(sockets, token_for):
    token = await token_for("alice")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-")
    socket = sockets("/ws", subprotocols=[token])
    assert await socket.connect()
    assert socket.subprotocol == token
    assert await socket.receive() == system("alice joined")


async def test_the_bearer_pair_of_subprotocols_is_accepted_and_bearer_echoed(sockets, token_for):
    socket = sockets("/ws", subprotocols=["bearer", await token_for("alice")])
    assert await socket.connect()
    assert socket.subprotocol == "bearer"


async def test_the_token_is_accepted_in_the_authorization_header(sockets, token_for):
    token = await token_for("alice")
    socket = sockets("/ws", headers=[(b"authorization", f"Bearer {token}".encode())])
    assert await socket.connect()
    assert await socket.receive() == system("alice joined")


async def test_the_token_is_accepted_in_the_query_and_wins_over_a_username(sockets, token_for):
    socket = sockets(f"/ws?username=bob&token={await token_for('alice')}")
    assert await socket.connect()
    assert await socket.receive() == system("alice joined")


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
async def test_a_bad_token_is_refused(sockets, token):
    assert not await sockets(f"/ws?token={token}").connect()


async def test_an_expired_token_is_refused(sockets, token_for, settings):
    token = await token_for("alice")
    settings.CHAT_TOKEN_TTL = -1
    assert not await sockets("/ws", subprotocols=[token]).connect()


async def test_a_token_not_used_within_the_connect_window_is_refused_and_frees_the_nickname(
    sockets, token_for, settings
):
    token = await token_for("alice")
    settings.AUTH_CONNECT_WINDOW = -1
    assert not await sockets("/ws", subprotocols=[token]).connect()
    assert await token_for("alice")


async def test_one_token_allows_one_live_session(sockets, token_for):
    token = await token_for("alice")
    assert await sockets("/ws", subprotocols=[token]).connect()
    assert not await sockets("/ws", subprotocols=[token]).connect()


async def test_a_message_reaches_the_room_as_the_sessions_nickname(token_client):
    alice, bob = await token_client("alice"), await token_client("bob")
    assert await alice.receive() == system("bob joined")
    await alice.send({"type": "message", "args": {"from": "mallory", "body": " hi "}})
    assert await alice.receive() == {"from": "alice", "body": "hi"}
    assert await bob.receive() == {"from": "alice", "body": "hi"}
    assert await count_messages() == 1


async def test_clients_in_other_rooms_do_not_get_the_message(token_client):
    alice, bob = await token_client("alice"), await token_client("bob")
    await bob.send({"type": "createroom", "args": {"name": "elsewhere"}})
    assert await bob.receive() == system("bob joined")
    await alice.send({"type": "message", "args": {"body": "hi"}})
    assert await alice.receive() == system("bob joined")
    assert await alice.receive() == system("bob left")
    assert await alice.receive() == {"from": "alice", "body": "hi"}
    await assert_nothing_came_before_a_marker(bob)


async def test_createroom_switches_into_the_new_room_with_notices(token_client):
    alice, bob = await token_client("alice"), await token_client("bob")
    assert await alice.receive() == system("bob joined")
    await alice.send({"type": "createroom", "args": {"name": "Tea"}})
    assert await alice.receive() == system("alice joined")
    assert await bob.receive() == system("alice left")
    assert await room_names() == ["Tea", "global"]


async def test_createroom_of_an_existing_room_is_refused_in_any_case(token_client):
    alice = await token_client("alice")
    await alice.send({"type": "createroom", "args": {"name": "GLOBAL"}})
    assert await alice.receive() == system("room GLOBAL already exists")
    await alice.send({"type": "createroom", "args": {"name": "x" * 51}})
    assert await alice.receive() == system("invalid room name " + "x" * 51 + ": room is longer than 50 characters")
    assert await room_names() == ["global"]


@pytest.mark.parametrize("room", ["Nowhere", "glob\x00al"])  # PostgreSQL refuses NUL in a query
async def test_switchroom_to_an_unknown_room_is_refused(token_client, room):
    alice = await token_client("alice")
    await alice.send({"type": "switchroom", "args": {"room": room}})
    assert await alice.receive() == system(f"room {room} does not exist")
    await alice.send({"type": "listusers"})
    assert await alice.receive() == system("alice")


async def test_switchroom_moves_between_rooms_case_insensitively(token_client, nane):
    poster = await nane("poster")
    await poster.send({"room": "Kozma", "text": "first"})
    assert (await poster.receive())["text"] == "first"  # stored: room Kozma exists
    alice, bob = await token_client("alice"), await token_client("bob")
    assert await alice.receive() == system("bob joined")
    await alice.send({"type": "switchroom", "args": {"room": "KOZMA"}})
    assert await alice.receive() == system("alice joined")
    assert await bob.receive() == system("alice left")
    await alice.send({"type": "message", "args": {"body": "in kozma"}})
    assert await alice.receive() == {"from": "alice", "body": "in kozma"}
    await assert_nothing_came_before_a_marker(bob)


async def test_switching_into_the_current_room_says_so(token_client):
    alice = await token_client("alice")
    await alice.send({"type": "switchroom", "args": {"room": "Global"}})
    assert await alice.receive() == system("you are already in room global")


async def test_listusers_names_the_users_of_the_current_room(token_client):
    await token_client("bob")
    alice = await token_client("alice")
    await alice.send({"type": "listusers", "args": {}})
    assert await alice.receive() == system("alice\nbob")


async def test_listrooms_names_every_room(token_client, nane):
    poster = await nane("poster")
    for room in ("Zebra", "apple"):
        await poster.send({"room": room, "text": "first"})
        assert (await poster.receive())["room"] == room  # stored by now
    alice = await token_client("alice")
    await alice.send({"type": "listrooms"})
    assert await alice.receive() == system("apple\nglobal\nZebra")


async def test_setnick_renames_and_frees_the_old_nickname(token_client, token_for):
    alice, bob = await token_client("alice"), await token_client("bob")
    assert await alice.receive() == system("bob joined")
    await alice.send({"type": "setnick", "args": {"nickname": "alicia"}})
    assert await alice.receive() == system("alice is now alicia")
    assert await bob.receive() == system("alice is now alicia")
    await alice.send({"type": "message", "args": {"body": "hi"}})
    assert await bob.receive() == {"from": "alicia", "body": "hi"}
    assert await token_for("alice")


@pytest.mark.parametrize(
    ("nickname", "error"),
    [
        ("bob", "nickname bob is already taken"),
        ("9lives", "invalid nickname 9lives: use a letter or _ first, then at least one letter, digit, _ or -"),
        ("a", "invalid nickname a: use a letter or _ first, then at least one letter, digit, _ or -"),
        ("system", "nickname system is reserved"),
        ("", "nickname is empty"),
        ("bob\n", "invalid nickname bob\n: use a letter or _ first, then at least one letter, digit, _ or -"),
    ],
)
async def test_setnick_refuses_taken_and_invalid_nicknames(token_client, nickname, error):
    await token_client("bob")
    alice = await token_client("alice")
    await alice.send({"type": "setnick", "args": {"nickname": nickname}})
    assert await alice.receive() == system(error)
    names = await database_sync_to_async(lambda: sorted(ChatSession.objects.values_list("nickname", flat=True)))()
    assert names == ["alice", "bob"]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("{nope", "error parsing your message"),
        ('"message"', "error parsing your message"),
        ('{"args": {}}', "error parsing your message"),
        ('{"type": "dance"}', "unknown command dance"),
        ('{"type": "message"}', "cannot parse 'body' arg of message command"),
        ('{"type": "message", "args": {"body": 3}}', "cannot parse 'body' arg of message command"),
        ('{"type": "message", "args": {"body": "  "}}', "message body is empty"),
        ('{"type": "setnick", "args": {}}', "cannot parse 'nickname' arg of setnick command"),
        ('{"type": "switchroom", "args": []}', "cannot parse 'room' arg of switchroom command"),
        ('{"type": "createroom"}', "cannot parse 'name' arg of createroom command"),
        ('{"type": "switchroom", "args": {"room": "\\ud800"}}', "cannot parse 'room' arg of switchroom command"),
    ],
)
async def test_a_bad_command_gets_a_system_error_and_changes_nothing(token_client, frame, error):
    alice = await token_client("alice")
    await alice.send(frame)
    assert await alice.receive() == system(error)
    assert await count_messages() == 0
    assert await room_names() == ["global"]


async def test_an_over_long_body_is_refused(token_client):
    alice = await token_client("alice")
    await alice.send({"type": "message", "args": {"body": "b" * 10501}})
    assert await alice.receive() == system("message body is longer than 10500 characters")
    assert await count_messages() == 0


async def test_exit_tells_the_room_frees_the_nickname_and_closes(token_client, token_for):
    alice, bob = await token_client("alice"), await token_client("bob")
    assert await alice.receive() == system("bob joined")
    await alice.send({"type": "exit"})
    assert await alice.closed_with() in (None, 1000)
    assert await bob.receive() == system("alice left")
    assert await token_for("alice")


async def test_auth_refuses_a_nickname_already_reserved():
    await database_sync_to_async(services.issue_token)("alice")
    with pytest.raises(services.ChatError, match="nickname alice is already taken"):
        await database_sync_to_async(services.issue_token)("alice")
