"""Messages stored several to a transaction: order, numbering and history hold as one by one."""

import asyncio

import pytest

from messaging import services
from messaging.services import Post
from messaging.writer import MessageWriter

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_numbers_each_room_on_in_arrival_order():
    services.post_message(room_name="a", sender="x", text="a0")
    posts = [Post("a", "x", "a1"), Post("B", "y", "b0"), Post("A", "x", "a2"), Post("b", "y", "b1")]
    messages = services.post_messages(posts)
    assert [(m.text, m.room.key, m.seq) for m in messages] == [
        ("a1", "a", 2),
        ("b0", "b", 1),
        ("a2", "a", 3),
        ("b1", "b", 2),
    ]


def test_a_batch_keeps_only_the_newest_history(settings):
    settings.CHAT_MAX_MESSAGES_IN_ROOM = 3
    services.post_messages([Post("r", "x", f"m{n}") for n in range(5)])
    assert [message["text"] for message in services.history(services.find_room("r"))] == ["m2", "m3", "m4"]


async def test_posts_waiting_together_are_stored_together_in_arrival_order(monkeypatch):
    batches = []
    store = services.post_messages

    def counting(posts):
        batches.append(len(posts))
        return store(posts)

    monkeypatch.setattr(services, "post_messages", counting)
    writer = MessageWriter()
    messages = await asyncio.gather(*(writer.post(Post("r", f"u{n}", f"t{n}")) for n in range(30)))
    assert [(m.text, m.seq) for m in messages] == [(f"t{n}", n + 1) for n in range(30)]
    assert sum(batches) == 30
    assert len(batches) <= 2  # the first alone, the rest gathered while it was written


async def test_a_failed_batch_fails_each_of_its_posts(monkeypatch):
    def broken(posts):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "post_messages", broken)
    results = await asyncio.gather(
        *(MessageWriter().post(Post("r", "u", "t")) for _ in range(3)), return_exceptions=True
    )
    assert [str(result) for result in results] == ["disk full"] * 3
