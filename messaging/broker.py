"""How a broadcast reaches every process's chat sockets: directly, or through Redis.

Without `REDIS_URL` this process is the whole chat, so the broker hands each broadcast
to the local fan-out at once. With it, every process subscribes once to one Redis
channel (`CHAT_NODES_GROUP`) and a broadcast is one publication per *write*, received
once per *process*, never once per client: the tutorial pattern (a group message per
client) costs a layer hop, a task wake-up and a JSON encode per delivery, and silently
drops messages once a per-channel queue is full. The two connections are
`chatsite.core.redis_pubsub` links, not the channel layer's (which signaling uses): the
layer's reader cost more than the rest of a message's path (docs/architecture.md).
"""

import asyncio
import logging
import weakref

import msgpack
from django.conf import settings

from chatsite.core.redis_pubsub import Address, Publisher, Subscriber, open_link
from messaging.fanout import Broadcast, LocalFanout

log = logging.getLogger(__name__)


def per_loop(factory):
    """A getter of the one `factory()` of the running event loop (tests run one loop per test)."""
    instances = weakref.WeakKeyDictionary()

    def get():
        loop = asyncio.get_running_loop()
        if loop not in instances:
            instances[loop] = factory()
        return instances[loop]

    return get


class LocalBroker:
    """One process is the whole chat: a broadcast goes straight to its sockets."""

    def __init__(self, fanout):
        self.fanout = fanout

    async def start(self):
        pass

    def publish(self, broadcast):
        """Deliver a broadcast; call it after the write it announces has committed."""
        if broadcast:
            self.fanout.deliver(broadcast)


class RedisBroker:
    """Broadcasts go out as Redis publications on one channel, to which every process's broker subscribes."""

    def __init__(self, fanout, url, channel):
        self.fanout, self.address, self.channel = fanout, Address.from_url(url), channel
        self.links = None  # (Publisher, Subscriber) while both are connected
        self.local_only = False  # said so in the log since the last publication
        self.connecting = None
        self.reconnecting = None

    async def start(self):
        """Connected and subscribed: at once if we are, else after one attempt (raises if Redis does not answer)."""
        if self.links is None:
            if self.connecting is None or self.connecting.done():
                self.connecting = asyncio.ensure_future(self._connect())
            await asyncio.shield(self.connecting)

    def publish(self, broadcast):
        """Publish a broadcast for every process; call it after the write it announces has committed."""
        if not broadcast:
            return
        publisher = self.links and self.links[0]
        if publisher and publisher.writable:
            publisher.publish(self.channel, msgpack.packb(broadcast.as_event()))
            self.local_only = False
            return
        # Redis is down or not reading. The message is stored already; this node's own
        # clients still get it now, other nodes' clients only find it in the history.
        if not self.local_only:
            log.warning("chat: Redis unreachable or not reading; delivering to this node's clients only")
            self.local_only = True
        self.fanout.deliver(broadcast)

    async def _connect(self):
        timeout = settings.CHAT_NODES_CONNECT_TIMEOUT
        publisher = await open_link(
            self.address, Publisher(self.address, settings.CHAT_NODES_SEND_BUFFER_BYTES), timeout
        )
        try:
            subscriber = await open_link(self.address, Subscriber(self.address, self.channel, self._received), timeout)
        except BaseException:
            publisher.close()
            raise
        links = self.links = (publisher, subscriber)
        for link in links:
            link.closed.add_done_callback(lambda _closed: self._lost(links))

    async def close(self):
        """Close both links and stop reconnecting (the tests' brokers; a process that exits needs nothing)."""
        links, self.links = self.links, None
        for link in links or ():
            link.close()
        tasks = [task for task in (self.connecting, self.reconnecting) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _received(self, data):
        # Called from the subscriber's data_received: what it raised would close the link.
        try:
            self.fanout.deliver(Broadcast.from_event(msgpack.unpackb(data)))
        except Exception:
            log.exception("chat: a publication on %s is not a broadcast; skipped", self.channel)

    def _lost(self, links):
        """One of `links` closed: close the other, and connect both again until Redis answers."""
        if self.links is not links:
            return  # an earlier pair, already replaced
        for link in self.links:
            link.close()
        self.links = None
        log.warning("chat: lost Redis; broadcasts reach this node's clients only until it is back")
        if self.reconnecting is None or self.reconnecting.done():
            self.reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self):
        while self.links is None:
            await asyncio.sleep(settings.CHAT_NODES_RECONNECT_INTERVAL)
            try:
                await self.start()
            except (OSError, TimeoutError) as error:
                log.warning("chat: Redis still unreachable (%s); trying again", error)
        log.warning("chat: Redis is back; broadcasts reach every node again")


def _make_broker():
    if not settings.REDIS_URL:
        return LocalBroker(LocalFanout())
    return RedisBroker(LocalFanout(), settings.REDIS_URL, settings.CHAT_NODES_GROUP)


get_broker = per_loop(_make_broker)
