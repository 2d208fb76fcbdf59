"""How a broadcast reaches every process's chat sockets: directly, or through the channel layer.

With no channel layer, or the in-memory one, this process is the whole chat, so the
broker hands each broadcast to the local fan-out at once. With Redis, every process
joins one group (`CHAT_NODES_GROUP`) once, and a broadcast is one layer message per
*process*, never per client: the tutorial pattern (a group message per client) costs a
layer hop, a task wake-up and a JSON encode per delivery, and silently drops messages
once a per-channel queue is full.
"""

import asyncio
import logging
import weakref

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from messaging.fanout import Broadcast, InOrder, LocalFanout

log = logging.getLogger(__name__)

EVENT_TYPE = "chat.broadcast"


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


class LayerBroker:
    """Broadcasts go through a channel-layer group that every process's broker listens to."""

    def __init__(self, fanout, layer, group):
        self.fanout, self.layer, self.group = fanout, layer, group
        # One task sends, so broadcasts leave in the order they were published.
        self.outgoing = InOrder(self._send)
        self.subscribed = None

    async def start(self):
        """Join the group once per process, with one channel and one receive task."""
        if self.subscribed is None or _failed(self.subscribed):
            # A subscription that failed (Redis down at the first connect) is tried again.
            self.subscribed = asyncio.ensure_future(self._subscribe())
        await asyncio.shield(self.subscribed)

    def publish(self, broadcast):
        """Queue a broadcast for every process; call it after the write it announces has committed."""
        if broadcast:
            self.outgoing.extend((broadcast,))

    async def _send(self, broadcast):
        try:
            await self.start()
            await self.layer.group_send(self.group, {"type": EVENT_TYPE, **broadcast.as_event()})
        except Exception:
            # Redis is down. The message is stored already; this node's own clients
            # still get it now, other nodes' clients only find it in the history.
            log.warning("chat: channel layer unreachable; delivering to this node's clients only")
            self.fanout.deliver(broadcast)

    async def _subscribe(self):
        channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, channel)
        self.listener = asyncio.create_task(self._listen(channel), name="chat-broker-listener")

    async def _listen(self, channel):
        while True:
            try:
                event = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A Redis hiccup must not end this process's chat: log, wait, go on.
                log.exception("chat: receiving from the channel layer failed; retrying")
                await asyncio.sleep(0.5)
                continue
            self.fanout.deliver(Broadcast.from_event(event))


def _failed(future):
    return future.done() and (future.cancelled() or future.exception() is not None)


def _make_broker():
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return LocalBroker(LocalFanout())
    return LayerBroker(LocalFanout(), layer, settings.CHAT_NODES_GROUP)


get_broker = per_loop(_make_broker)
