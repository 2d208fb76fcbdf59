"""Frame size and rate limits per connection (docs/protocols/websockets.md)."""

import pytest
from channels.db import database_sync_to_async

from chatsite.core.limits import TokenBucket
from messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_frame_over_the_size_limit_closes_with_1009_and_stores_nothing(nane, settings):
    settings.WS_MAX_FRAME_BYTES = 1024
    alice = await nane("alice")
    # 400 characters of two bytes each: under the limit in characters, over it in bytes.
    await alice.send({"room": "r", "text": "ж" * 600})
    assert await alice.closed_with() == 1009
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_a_frame_at_the_size_limit_passes(nane, settings):
    settings.WS_MAX_FRAME_BYTES = 1024
    alice = await nane("alice")
    frame = '{"room": "r", "text": "' + "x" * (1024 - 25) + '"}'
    assert len(frame.encode()) == 1024
    await alice.send(frame)
    assert (await alice.receive())["text"] == "x" * 999


async def test_a_token_client_over_the_size_limit_is_closed_too(token_client, settings):
    settings.WS_MAX_FRAME_BYTES = 100
    alice = await token_client("alice")
    await alice.send({"type": "message", "args": {"body": "b" * 200}})
    assert await alice.closed_with() == 1009


async def test_frames_beyond_the_burst_get_error_frames_and_are_not_stored(nane, settings):
    settings.WS_RATE_PER_SECOND = 0.001
    settings.WS_RATE_BURST = 2
    alice = await nane("alice")
    for n in range(4):
        await alice.send({"room": "r", "text": f"m{n}", "id": str(n)})
    frames = [await alice.receive() for _ in range(4)]
    assert [f.get("text") for f in frames[:2]] == ["m0", "m1"]
    assert frames[2:] == [{"error": "too many messages: at most 0.001 per second"}] * 2
    assert await database_sync_to_async(Message.objects.count)() == 2


async def test_a_token_client_over_the_rate_gets_system_errors(token_client, settings):
    settings.WS_RATE_PER_SECOND = 0.001
    settings.WS_RATE_BURST = 1
    alice = await token_client("alice")
    await alice.send({"type": "listrooms"})
    await alice.send({"type": "listrooms"})
    assert await alice.receive() == {"from": "system", "body": "global"}
    assert await alice.receive() == {"from": "system", "body": "too many messages: at most 0.001 per second"}


def test_the_bucket_refills_at_its_rate_up_to_its_burst():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5
    assert [bucket.take() for _ in range(2)] == [True, False]
    now[0] = 100
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


async def test_a_binary_frame_over_the_size_limit_closes_with_1009(nane, settings):
    settings.WS_MAX_FRAME_BYTES = 100
    alice = await nane("alice")
    await alice.communicator.send_to(bytes_data=b"x" * 101)
    assert await alice.closed_with() == 1009


async def test_frames_after_the_1009_close_are_not_processed(nane, settings):
    settings.WS_MAX_FRAME_BYTES = 100
    alice = await nane("alice")
    await alice.send({"room": "r", "text": "x" * 200})
    await alice.send({"room": "r", "text": "late"})
    assert await alice.closed_with() == 1009
    assert await alice.stops_without_another_frame()  # so it has handled "late"
    assert await database_sync_to_async(Message.objects.count)() == 0
