"""The broker's Redis links, on a real redis-server: every process gets every broadcast once, in order,
whatever Redis does (refuses us, stalls, dies, comes back, carries something that is not a broadcast)."""

import asyncio
import logging
import signal
import socket
import uuid

import msgpack
import pytest
import redis

from chatsite.core.redis_pubsub import Address, command
from messaging.broker import RedisBroker
from messaging.fanout import Broadcast
from tests.support import RedisProcess


class Recorder:
    """What RedisBroker uses of a LocalFanout: the broadcasts it was given, in order."""

    def __init__(self):
        self.got = []

    def deliver(self, broadcast):
        self.got.append(broadcast)


async def until(condition, timeout=10.0):
    """Wait for `condition()`; a bound for what must happen, never a measure of how fast."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
def redis_server():
    server = RedisProcess().start()
    yield server
    server.stop()


@pytest.fixture
async def brokers():
    """`brokers(url, count)`: brokers on one channel of their own, closed after the test."""
    made = []

    def make(url, count=2):
        channel = f"test.nodes.{uuid.uuid4().hex}"
        made.extend(RedisBroker(Recorder(), url, channel) for _ in range(count))
        return made[-count:]

    yield make
    for broker in made:
        await broker.close()


async def test_every_process_gets_every_broadcast_once_in_order(redis_server, brokers):
    one, two = brokers(redis_server.url)
    await one.start()
    await two.start()
    sent = [Broadcast(nane=[f"m{n}"], rooms={"r": [f"t{n}"]} if n % 2 else {}) for n in range(300)]
    for broadcast in sent:
        (one if len(one.fanout.got) % 3 else two).publish(broadcast)  # both publish, interleaved
    await until(lambda: len(one.fanout.got) == len(two.fanout.got) == len(sent))
    assert one.fanout.got == two.fanout.got
    assert sorted(b.nane[0] for b in one.fanout.got) == sorted(b.nane[0] for b in sent)
    mine = [b for b in two.fanout.got if b in sent[::2]]
    assert mine == [b for b in sent if b in mine], "one publisher's broadcasts arrive in the order it sent them"


async def test_frames_of_any_bytes_and_size_arrive_intact(redis_server, brokers):
    one, two = brokers(redis_server.url)
    await one.start()
    await two.start()
    broadcast = Broadcast(nane=["a\r\nb", "*1\r\n$3\r\nfoo\r\n", "ü" * 1000, "x" * 300_000], rooms={"r\r\n": ["\x00"]})
    one.publish(broadcast)
    await until(lambda: two.fanout.got)
    assert two.fanout.got == [broadcast]


async def test_a_publication_that_is_not_a_broadcast_is_skipped_and_logged(redis_server, caplog, brokers):
    (broker,) = brokers(redis_server.url, 1)
    await broker.start()
    client = redis.Redis.from_url(redis_server.url)
    for garbage in (b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"nane": 5})):
        client.publish(broker.channel, garbage)
    broker.publish(Broadcast(nane=["after"]))
    with caplog.at_level(logging.ERROR, logger="messaging.broker"):
        await until(lambda: broker.fanout.got)
    assert broker.fanout.got == [Broadcast(nane=["after"])]
    assert sum("is not a broadcast" in record.getMessage() for record in caplog.records) == 3
    assert broker.links is not None, "the subscription outlived what it could not read"


async def test_an_empty_broadcast_is_not_published(redis_server, brokers):
    one, two = brokers(redis_server.url)
    await one.start()
    await two.start()
    one.publish(Broadcast())
    one.publish(Broadcast(nane=["marker"]))
    await until(lambda: two.fanout.got)
    assert two.fanout.got == [Broadcast(nane=["marker"])]


def test_a_redis_url_names_where_and_how_to_connect():
    assert Address.from_url("redis://127.0.0.1:6390/3") == Address("127.0.0.1", 6390)
    assert Address.from_url("rediss://u%40x:p%3Aw@cache.example:7000") == Address(
        "cache.example", 7000, "u@x", "p:w", tls=True
    )
    assert Address.from_url("redis://:secret@host").hello() == command("AUTH", "secret")
    assert Address.from_url("redis://bob:secret@host").hello() == b"*3\r\n$4\r\nAUTH\r\n$3\r\nbob\r\n$6\r\nsecret\r\n"
    assert Address.from_url("redis://host").hello() == b""
    with pytest.raises(ValueError, match="redis:// or rediss://"):
        Address.from_url("unix:///run/redis.sock")


async def test_a_password_is_sent_and_a_wrong_one_refused(brokers):
    server = RedisProcess("--requirepass", "s3cret").start()
    try:
        base = f"127.0.0.1:{server.port}"
        one, two = brokers(f"redis://:s3cret@{base}")
        await one.start()
        await two.start()
        one.publish(Broadcast(nane=["authenticated"]))
        await until(lambda: two.fanout.got)
        (acl,) = brokers(f"redis://default:s3cret@{base}", 1)
        await acl.start()
        for url in (f"redis://:wrong@{base}", f"redis://{base}"):
            (refused,) = brokers(url, 1)
            with pytest.raises(ConnectionRefusedError, match="Redis refused the connection"):
                await refused.start()
            assert refused.links is None
    finally:
        server.stop()


async def test_redis_down_at_start_fails_the_start_and_a_later_start_connects(settings, brokers):
    settings.CHAT_NODES_CONNECT_TIMEOUT = 2.0
    server = RedisProcess()
    (broker,) = brokers(server.url, 1)
    with pytest.raises(ConnectionRefusedError):
        await broker.start()
    server.start()
    try:
        await broker.start()
        broker.publish(Broadcast(nane=["up"]))
        await until(lambda: broker.fanout.got)
    finally:
        server.stop()


async def test_a_server_that_accepts_and_never_answers_fails_the_start_within_the_connect_timeout(settings, brokers):
    settings.CHAT_NODES_CONNECT_TIMEOUT = 0.5
    with socket.socket() as silent:  # the kernel completes the handshake; nobody reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        (broker,) = brokers(f"redis://127.0.0.1:{silent.getsockname()[1]}", 1)
        with pytest.raises(TimeoutError):
            await broker.start()
        assert broker.links is None


async def test_a_redis_that_stops_reading_costs_a_bounded_buffer_then_local_delivery(redis_server, settings, brokers):
    settings.CHAT_NODES_SEND_BUFFER_BYTES = 256 * 1024
    one, two = brokers(redis_server.url)
    await one.start()
    await two.start()
    publisher = one.links[0]
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        big = Broadcast(nane=["x" * 100_000])
        for _ in range(1000):  # past the kernel's socket buffers, then past ours
            one.publish(big)
            await asyncio.sleep(0)
            if not publisher.writable:
                break
        assert not publisher.writable, "100 MB sent to a stopped Redis and the send buffer never reached its bound"
        assert publisher.transport.get_write_buffer_size() <= settings.CHAT_NODES_SEND_BUFFER_BYTES + 100_100
        one.publish(Broadcast(nane=["local"]))
        assert one.fanout.got == [Broadcast(nane=["local"])], "delivered here at once, not queued"
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    await until(lambda: publisher.writable)
    one.publish(Broadcast(nane=["resumed"]))
    await until(lambda: two.fanout.got and two.fanout.got[-1] == Broadcast(nane=["resumed"]), timeout=30)


async def test_lost_redis_means_local_delivery_then_both_links_come_back(settings, caplog, brokers):
    settings.CHAT_NODES_RECONNECT_INTERVAL = 0.05
    server = RedisProcess().start()
    try:
        one, two = brokers(server.url)
        await one.start()
        await two.start()
        server.kill()
        await until(lambda: one.links is None and two.links is None)
        with caplog.at_level(logging.WARNING, logger="messaging.broker"):
            one.publish(Broadcast(nane=["while down"]))
        assert one.fanout.got == [Broadcast(nane=["while down"])]
        assert two.fanout.got == []
        assert "delivering to this node's clients only" in caplog.text
        server.start()
        await until(lambda: one.links is not None and two.links is not None)
        one.publish(Broadcast(nane=["back"]))
        await until(lambda: two.fanout.got)
        assert two.fanout.got == [Broadcast(nane=["back"])]
        assert "Redis is back" in caplog.text
    finally:
        server.stop()
