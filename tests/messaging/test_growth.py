"""What users can grow is bounded or expires: rooms (CHAT_MAX_ROOMS, CHAT_ROOM_IDLE_TTL) and `/auth` sessions."""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils import timezone

from messaging import services
from messaging.models import ChatSession, Message, Room

pytestmark = pytest.mark.django_db(transaction=True)


def room_names():
    return sorted(Room.objects.values_list("name", flat=True))


async def test_a_message_to_a_new_room_past_the_cap_gets_an_error_and_the_socket_stays_open(nane, settings):
    settings.CHAT_MAX_ROOMS = 2
    alice = await nane("alice")
    for room in ("one", "two"):
        await alice.send({"room": room, "text": "hi"})
        assert (await alice.receive())["room"] == room
    await alice.send({"room": "three", "text": "hi", "id": "m3"})
    assert await alice.receive() == {
        "error": "cannot create room three: this server has its most rooms (2)",
        "id": "m3",
    }
    await alice.send({"room": "ONE", "text": "still here"})
    assert (await alice.receive())["text"] == "still here"
    assert await database_sync_to_async(room_names)() == ["one", "two"]
    assert await database_sync_to_async(Message.objects.filter(text="hi").count)() == 2


async def test_createroom_past_the_cap_is_refused_with_a_system_error(token_client, settings):
    settings.CHAT_MAX_ROOMS = 1  # `global`, made by the connection
    alice = await token_client("alice")
    await alice.send({"type": "createroom", "args": {"name": "extra"}})
    assert await alice.receive() == {
        "from": "system",
        "body": "cannot create room extra: this server has its most rooms (1)",
    }
    assert await database_sync_to_async(room_names)() == ["global"]


def test_in_one_batch_a_post_to_a_refused_room_fails_alone(settings):
    settings.CHAT_MAX_ROOMS = 1
    services.post_message(room_name="kept", sender="a", text="first")
    posted, broadcast = services.post_messages(
        [services.Post("kept", "a", "1"), services.Post("new", "b", "2"), services.Post("kept", "a", "3")]
    )
    assert isinstance(posted[1], services.ChatError)
    assert [p.seq for p in (posted[0], posted[2])] == [2, 3]
    assert [frame["text"] for frame in map(json.loads, broadcast.nane)] == ["1", "3"]
    assert room_names() == ["kept"]


def test_sessions_that_hold_no_nickname_are_pruned_and_their_tokens_stay_dead(settings):
    now = timezone.now()
    live = services.issue_token("live")
    ended = services.issue_token("ended")
    services.end_session(services.open_session(ended))
    late = services.issue_token("late")
    ChatSession.objects.filter(nickname="late").update(issued=now - timedelta(seconds=settings.AUTH_CONNECT_WINDOW + 1))
    connected = services.open_session(services.issue_token("gone-silent"))
    ChatSession.objects.filter(pk=connected.pk).update(
        seen=now - timedelta(seconds=settings.CHAT_SESSION_STALE_AFTER + 1)
    )

    assert services.prune_expired(now) == 3
    assert list(ChatSession.objects.values_list("nickname", flat=True)) == ["live"]
    assert services.open_session(late) is None
    assert services.open_session(live) is not None
    assert services.issue_token("ended"), "an ended session's nickname is free"
    assert services.issue_token("gone-silent")


def test_a_room_idle_past_the_ttl_is_pruned_with_its_history_unless_someone_is_in_it(settings):
    settings.CHAT_ROOM_IDLE_TTL = 3600
    now, old = timezone.now(), timezone.now() - timedelta(hours=2)
    for name in ("idle", "busy", "occupied", "global"):
        services.post_message(room_name=name, sender="a", text="old")
    Room.objects.update(created=old)
    Message.objects.update(created=old)
    services.post_message(room_name="busy", sender="a", text="new")
    Room.objects.create(key="empty-new", name="empty-new")
    session = services.open_session(services.issue_token("bob"))
    services.switch_room(session, Room.objects.get(key="occupied"))

    assert services.prune_expired(now) == 1
    assert room_names() == ["busy", "empty-new", "global", "occupied"]
    assert not Message.objects.filter(room__key="idle").exists()


def test_with_no_idle_ttl_rooms_are_kept(settings):
    settings.CHAT_ROOM_IDLE_TTL = 0
    services.post_message(room_name="idle", sender="a", text="old")
    Room.objects.update(created=timezone.now() - timedelta(days=400))
    Message.objects.update(created=timezone.now() - timedelta(days=400))
    assert services.prune_expired() == 0
    assert room_names() == ["idle"]


def test_the_pruning_worker_prunes_chat_sessions_too():
    services.end_session(services.open_session(services.issue_token("ended")))
    call_command("nameserver_worker", "--once", verbosity=0)
    assert not ChatSession.objects.exists()
