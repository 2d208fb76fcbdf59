"""This process's chat sockets, and the delivery of a broadcast to them.

A `Broadcast` is what one write of the chat has to say: the frames for every nane
session, and the frames for the token-dialect sessions of given rooms. Each frame is
encoded once per broadcast, whatever the number of receivers; where the server offers
the frames extension (`chatsite.core.websocket_frames`) the WebSocket framing is done
once too, and several frames of one broadcast reach a socket in one write.
"""

import asyncio
import logging
from collections import defaultdict, deque
from dataclasses import dataclass, field

from chatsite.core.metrics import CHAT_DELIVERIES
from chatsite.core.websocket_frames import FRAMES_EXTENSION, encode_text_frames

log = logging.getLogger(__name__)


@dataclass
class Broadcast:
    """Frames to send after a write: to every nane session, and per room key to token sessions."""

    nane: list = field(default_factory=list)
    rooms: dict = field(default_factory=dict)

    def __bool__(self):
        return bool(self.nane or self.rooms)

    def to_room(self, key, frame):
        self.rooms.setdefault(key, []).append(frame)
        return self

    def as_event(self):
        """A channel-layer message body (msgpack-friendly)."""
        return {"nane": self.nane, "rooms": self.rooms}

    @classmethod
    def from_event(cls, event):
        return cls(nane=list(event.get("nane") or ()), rooms=dict(event.get("rooms") or {}))


class WireConnection:
    """A socket whose server takes pre-encoded frames: the fan-out writes to its transport."""

    __slots__ = ("transport",)

    def __init__(self, sink):
        self.transport = sink.transport

    def write(self, texts):
        """Frames for this socket alone, in order with the broadcasts written to it."""
        if texts and not self.transport.is_closing():
            self.transport.write(encode_text_frames(texts))

    async def write_paced(self, texts, step_bytes):
        """Many frames for this socket alone, a step at a time, each once the send buffer is under `step_bytes`.

        Written at once, a long replay would pass WS_MAX_SEND_BUFFER_BYTES and the socket be
        closed as a slow client. The transport only signals at that bound, so we look.
        """
        step, size = [], 0
        for text in texts:
            step.append(text)
            size += len(text.encode())  # bytes, as the send buffer counts them: a character may be 4
            if size >= step_bytes:
                await self._drained(step_bytes)
                self.write(step)
                step, size = [], 0
        await self._drained(step_bytes)
        self.write(step)

    async def _drained(self, step_bytes):
        while self.transport.get_write_buffer_size() > step_bytes and not self.transport.is_closing():
            await asyncio.sleep(0.005)


class InOrder:
    """Items handed to `handle` one at a time, in order, by one task started when there is work."""

    def __init__(self, handle):
        self.handle, self.items, self.task = handle, deque(), None

    def extend(self, items):
        self.items.extend(items)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        while self.items:
            await self.handle(self.items.popleft())


class AsgiConnection:
    """A socket reached through ASGI `websocket.send`, one message per frame, in order."""

    transport = None

    def __init__(self, send):
        self.send = send
        self.frames = InOrder(self._send)

    def push(self, texts):
        self.frames.extend(texts)

    write = push  # frames for this socket alone go through the same queue, so they keep their order

    async def write_paced(self, texts, step_bytes):
        self.push(texts)  # each waits for the one before it to be sent

    async def _send(self, text):
        try:
            await self.send({"type": "websocket.send", "text": text})
        except Exception:
            log.exception("chat: sending to one socket failed; dropping its queued frames")
            self.frames.items.clear()


def connection_for(scope, send, overflow_text=None):
    """The fastest way this server offers to push frames to the socket of `scope`."""
    extension = (scope.get("extensions") or {}).get(FRAMES_EXTENSION)
    if extension is None:
        return AsgiConnection(send)
    sink = extension["sink"]
    sink.overflow_text = overflow_text
    return WireConnection(sink)


class LocalFanout:
    """The chat connections of this process: every nane one, and token ones by room."""

    def __init__(self):
        self.nane = set()
        self.rooms = defaultdict(set)
        self.room_of = {}
        # Nane connections whose recovery is reading the history: live frames wait here, in order.
        self.held = {}
        # Nane connections just recovered, and the Trail that drops the live frames their replay had.
        self.trailing = {}

    def add_nane(self, connection):
        self.nane.add(connection)

    def join(self, connection, room_key):
        """Put a token-dialect connection in a room, leaving any other."""
        self.leave(connection)
        self.rooms[room_key].add(connection)
        self.room_of[connection] = room_key

    def leave(self, connection):
        key = self.room_of.pop(connection, None)
        if key is not None:
            members = self.rooms[key]
            members.discard(connection)
            if not members:
                del self.rooms[key]

    def remove(self, connection):
        self.nane.discard(connection)
        self.held.pop(connection, None)
        self.trailing.pop(connection, None)
        self.leave(connection)

    def hold(self, connection):
        """Keep the live nane frames for `connection` aside, in order, until `release()`."""
        self.nane.discard(connection)
        self.trailing.pop(connection, None)
        self.held[connection] = []

    def release(self, connection):
        """The frames kept since `hold()`, and live delivery again; None if the connection was removed meanwhile."""
        kept = self.held.pop(connection, None)
        if kept is not None:
            self.nane.add(connection)
        return kept

    def follow(self, connection, trail):
        """Live frames for `connection` skip those `trail.stale()` until `trail.done`, then flow as usual."""
        self.nane.discard(connection)
        self.trailing[connection] = trail

    def _trail(self, texts):
        """Push `texts` to the recovering connections, less the frames each already had; how many went."""
        written = 0
        for connection, trail in tuple(self.trailing.items()):
            fresh = [text for text in texts if not trail.stale(text)]
            written += len(fresh)
            try:
                connection.write(fresh)
            except Exception:
                log.exception("chat: pushing to one recovering connection failed")
            if trail.done:
                del self.trailing[connection]
                self.nane.add(connection)
        return written

    def deliver(self, broadcast):
        """Push a broadcast's frames to the local connections they are for."""
        delivered = 0
        if broadcast.nane:
            if self.nane:
                delivered += len(self.nane) * len(broadcast.nane)
                self._push(self.nane, broadcast.nane)
            if self.held:
                for kept in self.held.values():
                    kept.extend(broadcast.nane)
                delivered += len(self.held) * len(broadcast.nane)  # sent on release
            if self.trailing:
                delivered += self._trail(broadcast.nane)
        for key, texts in broadcast.rooms.items():
            if key in self.rooms:
                delivered += len(self.rooms[key]) * len(texts)
                self._push(self.rooms[key], texts)
        # One counter update per broadcast, from the sizes of the sets: never one per socket,
        # which would put a lock and a call in the loop that `_push` keeps bare. Its cost is
        # per broadcast, the same for 1 socket as for 1,000 (bench/README.md, "What changed,
        # and why").
        if delivered:
            CHAT_DELIVERIES.inc(delivered)

    @staticmethod
    def _push(connections, texts):
        wire = encode_text_frames(texts)
        # The loop of the hot path: one write per socket, no call of our own in between.
        for connection in tuple(connections):
            transport = connection.transport
            try:
                if transport is None:
                    connection.push(texts)
                elif not transport.is_closing():
                    transport.write(wire)
            except Exception:
                log.exception("chat: pushing to one connection failed; the others still get the frames")
