"""The chat sockets of this process and the one channel-layer subscription that feeds them.

A broadcast is one channel-layer message per *process* (group `CHAT_NODES_GROUP`), not
per client: each process receives it once and hands the already-encoded frames to its
own consumers in memory. The tutorial pattern (a group message per client) costs a
layer hop, a task wake-up and a JSON encode per delivery and drops messages when a
per-channel queue fills; see PERF-NOTES.md. With the in-memory layer there is only one
process, so the hub delivers directly and never touches the layer's bounded queues.

Events wait in two unbounded FIFO queues, each drained by one task: `outgoing` (to the
layer, or straight to `incoming` without one) and `incoming` (to the sockets). Nothing
is dropped, order is kept, and under load one pass delivers several events, so each
socket gets several frames per write.
"""

import asyncio
import contextvars
import logging
import weakref
from collections import defaultdict, deque

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)

EVENT_TYPE = "chat.broadcast"

# Set by each consumer, so services running in a worker thread can hand their events to
# the hub without blocking on the event loop (contextvars follow sync_to_async).
current_hub = contextvars.ContextVar("current_hub", default=None)


def per_loop(factory):
    """A getter of the one `factory()` of the running event loop (tests run one loop per test)."""
    instances = weakref.WeakKeyDictionary()

    def get():
        loop = asyncio.get_running_loop()
        if loop not in instances:
            instances[loop] = factory()
        return instances[loop]

    return get


def _failed(future):
    return future.done() and (future.cancelled() or future.exception() is not None)


class Drain:
    """A FIFO queue emptied, in order, by one task that exists only while there is work."""

    def __init__(self, handle):
        self.handle, self.items, self.task = handle, deque(), None

    def put(self, item):
        self.items.append(item)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self):
        while self.items:
            try:
                await self.handle(self.items.popleft())
            except Exception:
                # One bad event (or a Redis hiccup) must not stall the ones behind it.
                log.exception("chat hub: handling an event failed")

    async def idle(self):
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)


class Hub:
    """Local consumers by dialect and room; delivers broadcast events to them."""

    def __init__(self, loop=None):
        self.layer = get_channel_layer()
        self.distributed = self.layer is not None and not isinstance(self.layer, InMemoryChannelLayer)
        self.loop = loop
        self.nane = set()
        self.rooms = defaultdict(set)
        self.listener = None
        self.subscribed = None
        self.outgoing = Drain(self.send_out)
        self.incoming = Drain(self.deliver)

    # --- membership -------------------------------------------------------------

    async def add_nane(self, consumer):
        await self.start()
        self.nane.add(consumer)

    async def enter(self, consumer, room_key):
        """Put a token-dialect consumer in a room, leaving any other."""
        await self.start()
        self.leave(consumer)
        self.rooms[room_key].add(consumer)
        consumer.hub_room = room_key

    def leave(self, consumer):
        key = getattr(consumer, "hub_room", None)
        if key is not None:
            members = self.rooms.get(key)
            if members is not None:
                members.discard(consumer)
                if not members:
                    del self.rooms[key]
            consumer.hub_room = None

    def remove(self, consumer):
        self.nane.discard(consumer)
        self.leave(consumer)

    # --- broadcast --------------------------------------------------------------

    def publish(self, event):
        """Queue an event for every process's consumers (this one's included); call on the loop."""
        self.outgoing.put(event)

    def publish_threadsafe(self, event):
        """`publish` from a worker thread, without waiting for the loop."""
        self.loop.call_soon_threadsafe(self.publish, event)

    async def send_out(self, event):
        if self.distributed:
            try:
                await self.start()
                await self.layer.group_send(settings.CHAT_NODES_GROUP, {"type": EVENT_TYPE, **event})
                return
            except Exception:
                # Redis is down. The message is stored already; this node's own clients
                # still get it now, other nodes' clients only find it in the history.
                log.warning("chat hub: channel layer unreachable; delivering to this node's clients only")
        self.incoming.put(event)

    async def start(self):
        """Join the nodes group once per process, with one channel and one receive task."""
        if not self.distributed:
            return
        if self.subscribed is None or _failed(self.subscribed):
            # A subscription that failed (Redis down at the first connect) is tried again.
            self.subscribed = asyncio.ensure_future(self._subscribe())
        await asyncio.shield(self.subscribed)

    async def _subscribe(self):
        channel = await self.layer.new_channel()
        await self.layer.group_add(settings.CHAT_NODES_GROUP, channel)
        self.listener = asyncio.create_task(self.listen(channel), name="chat-hub-listener")

    async def listen(self, channel):
        while True:
            try:
                event = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A Redis hiccup must not end this process's chat: log, wait, go on.
                log.exception("chat hub: receiving from the channel layer failed; retrying")
                await asyncio.sleep(0.5)
                continue
            self.incoming.put(event)

    async def deliver(self, event):
        """Hand the event's pre-encoded frames to the local consumers it is for."""
        if event.get("nane"):
            await self._send_all(self.nane, event["nane"])
        if event.get("token") and event.get("room_key") in self.rooms:
            await self._send_all(self.rooms[event["room_key"]], event["token"])

    @staticmethod
    async def _send_all(consumers, text):
        message = {"type": "websocket.send", "text": text}  # one dict for all: the server only reads it
        for consumer in list(consumers):
            try:
                await consumer.base_send(message)
            except Exception:
                log.exception("chat hub: sending to one consumer failed; the others still get the frame")

    async def idle(self):
        """Wait until this process has sent out and delivered every queued event."""
        await self.outgoing.idle()
        await self.incoming.idle()


get_hub = per_loop(lambda: Hub(loop=asyncio.get_running_loop()))
