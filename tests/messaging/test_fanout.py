"""The hub delivers every message to every session, in order, without a layer message per client."""

import pytest

from messaging.hub import Hub

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 30
MESSAGES = 250  # beyond the in-memory layer's per-channel capacity of 100


async def test_a_burst_reaches_every_session_in_order_and_nothing_is_dropped(nane, settings):
    settings.WS_RATE_BURST = MESSAGES
    clients = [await nane(f"c{n}") for n in range(CLIENTS)]
    for n in range(MESSAGES):
        await clients[0].send({"room": "burst", "text": f"m{n}"})
    for client in clients:
        assert [(await client.receive())["text"] for _ in range(MESSAGES)] == [f"m{n}" for n in range(MESSAGES)]
        assert await client.nothing()


class FakeConsumer:
    def __init__(self):
        self.sent = []

    async def base_send(self, message):
        self.sent.append(message)


class BrokenConsumer:
    async def base_send(self, message):
        raise RuntimeError("socket gone")


async def test_one_failing_consumer_does_not_keep_the_frame_from_the_others():
    hub = Hub()
    good, bad, other = FakeConsumer(), BrokenConsumer(), FakeConsumer()
    for consumer in (good, bad, other):
        await hub.add_nane(consumer)
    hub.publish({"nane": "frame"})
    await hub.idle()
    assert good.sent == other.sent == [{"type": "websocket.send", "text": "frame"}]


async def test_token_frames_go_only_to_the_room_and_encoded_frames_are_shared():
    hub = Hub()
    here, there = FakeConsumer(), FakeConsumer()
    await hub.enter(here, "a")
    await hub.enter(there, "b")
    hub.publish({"room_key": "a", "token": "T"})
    await hub.idle()
    assert (here.sent, there.sent) == ([{"type": "websocket.send", "text": "T"}], [])
    await hub.enter(there, "a")
    hub.publish({"room_key": "a", "token": "U"})
    await hub.idle()
    assert here.sent[-1] is there.sent[-1]
