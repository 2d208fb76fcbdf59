"""Messages stored several to a transaction: order, numbering and history hold as one by one."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from messaging import services
from messaging.services import Post
from messaging.writer import MessageWriter

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_numbers_each_room_on_in_arrival_order():
    services.post_message(room_name="a", sender="x", text="a0")
    posts = [Post("a", "x", "a1"), Post("B", "y", "b0"), Post("A", "x", "a2"), Post("b", "y", "b1")]
    messages, _ = services.post_messages(posts)
    assert [(m.text, m.room_key, m.seq) for m in messages] == [
        ("a1", "a", 2),
        ("b0", "b", 1),
        ("a2", "a", 3),
        ("b1", "b", 2),
    ]


def test_a_batch_keeps_only_the_newest_history(settings):
    settings.CHAT_MAX_MESSAGES_IN_ROOM = 3
    services.post_messages([Post("r", "x", f"m{n}") for n in range(5)])
    assert [message["text"] for message in services.history(services.find_room("r"))] == ["m2", "m3", "m4"]


def test_a_batch_longer_than_the_history_keeps_only_its_newest_in_a_room_that_exists(settings):
    services.post_message(room_name="r", sender="x", text="old")
    settings.CHAT_MAX_MESSAGES_IN_ROOM = 3
    messages, _ = services.post_messages([Post("r", "x", f"m{n}") for n in range(5)])
    assert [m.seq for m in messages] == [2, 3, 4, 5, 6], "every post is numbered, kept or not"
    assert [message["seq"] for message in services.history(services.find_room("r"))] == [4, 5, 6]


@pytest.mark.parametrize("first", ["new room", "room that exists"])
def test_batches_of_every_size_leave_exactly_the_newest_history_stored(settings, first):
    # Each batch deletes only the range its messages push out (messaging/store.py): the
    # rows stored, not only what a read returns, must be the newest CHAT_MAX_MESSAGES_IN_ROOM.
    settings.CHAT_MAX_MESSAGES_IN_ROOM = 4
    if first == "room that exists":
        services.post_message(room_name="r", sender="x", text="m")
    for size in (1, 3, 4, 5, 2, 9, 1, 1, 6):
        services.post_messages([Post("r", "x", "m")] * size)
    room = services.find_room("r")
    assert sorted(room.messages.values_list("seq", flat=True)) == list(range(room.last_seq - 3, room.last_seq + 1))


def test_writers_of_two_processes_crossing_rooms_wait_for_each_other_instead_of_deadlocking():
    # Two batches naming the same rooms in opposite orders, at once, again and again: rooms
    # locked in the order given would deadlock, and PostgreSQL would fail one of the batches.
    services.post_messages([Post("a", "x", "a"), Post("b", "x", "b")])

    def write(rooms):
        try:
            for _ in range(40):
                services.post_messages([Post(room, "x", "t") for room in rooms])
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as writers:
        for outcome in [writers.submit(write, "ab"), writers.submit(write, "ba")]:
            outcome.result()
    assert services.find_room("a").last_seq == services.find_room("b").last_seq == 81


def test_a_batch_announces_each_message_to_nane_and_to_its_room_in_order():
    _, broadcast = services.post_messages([Post("A", "x", "a1"), Post("b", "y", "b1"), Post("a", "x", "a2")])
    assert [json.loads(frame)["text"] for frame in broadcast.nane] == ["a1", "b1", "a2"]
    assert {key: [json.loads(frame)["body"] for frame in frames] for key, frames in broadcast.rooms.items()} == {
        "a": ["a1", "a2"],
        "b": ["b1"],
    }


class RecordingBroker:
    def __init__(self):
        self.published = []

    def publish(self, broadcast):
        # Published only once stored: the message is in the history by now (read from
        # another thread, as the ORM is not for the event loop's).
        with ThreadPoolExecutor(1) as reader:
            stored = reader.submit(lambda: [m["text"] for m in services.history(services.find_room("r"))]).result()
        self.published.append(([json.loads(frame)["text"] for frame in broadcast.nane], stored))


async def test_posts_waiting_together_are_stored_and_broadcast_together_in_arrival_order(monkeypatch):
    batches = []
    store = services.post_messages

    def counting(posts):
        batches.append(len(posts))
        return store(posts)

    monkeypatch.setattr(services, "post_messages", counting)
    broker = RecordingBroker()
    writer = MessageWriter(broker)
    messages = await asyncio.gather(*(writer.post(Post("r", f"u{n}", f"t{n}")) for n in range(30)))
    assert [(m.text, m.seq) for m in messages] == [(f"t{n}", n + 1) for n in range(30)]
    assert sum(batches) == 30
    assert len(batches) <= 2  # the first alone, the rest gathered while it was written
    assert len(broker.published) == len(batches), "one broadcast per batch"
    sent = [text for texts, _ in broker.published for text in texts]
    assert sent == [f"t{n}" for n in range(30)]
    assert all(set(texts) <= set(stored) for texts, stored in broker.published)


async def test_a_failed_batch_fails_each_of_its_posts(monkeypatch):
    def broken(posts):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "post_messages", broken)
    broker = RecordingBroker()
    writer = MessageWriter(broker)
    results = await asyncio.gather(*(writer.post(Post("r", "u", "t")) for _ in range(3)), return_exceptions=True)
    assert [str(result) for result in results] == ["disk full"] * 3
    assert broker.published == [], "nothing stored, nothing broadcast"
