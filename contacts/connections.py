"""The two kinds of connection a replica serves: a client's session and a link to a peer replica."""

import asyncio
import logging
from dataclasses import dataclass, field

from contacts import protocol, services
from contacts.models import shown
from contacts.protocol import AskForUpdate, ListAll, Update

log = logging.getLogger("contacts.replica")


class FrameReader:
    """Whole frames from a stream, read a chunk at a time (one wake-up per chunk, not two per frame).

    While a frame is half-read, `mid_frame[reader]` holds when it began, for the server's
    watchdog, which cuts the connection if it stays half-read too long.
    """

    def __init__(self, reader, payload_size, decode_frame, mid_frame):
        self.reader, self.payload_size, self.decode_frame = reader, payload_size, decode_frame
        self.mid_frame, self.rest, self.error = mid_frame, b"", None

    async def next_frames(self):
        """The next frames that arrive, in order; None when the other side closes between frames."""
        while True:
            if self.error is not None:
                raise self.error
            chunk = await self.reader.read(1 << 16)
            if not chunk:
                if self.rest:
                    expected = protocol.frame_size(self.rest, self.payload_size)
                    raise asyncio.IncompleteReadError(self.rest, expected)
                return None
            data = self.rest + chunk if self.rest else chunk
            frames, used, self.error = protocol.decode_frames(data, self.payload_size, self.decode_frame)
            self.rest = data[used:]
            if self.rest and (used or self.reader not in self.mid_frame):
                self.mid_frame[self.reader] = asyncio.get_running_loop().time()
            elif not self.rest:
                self.mid_frame.pop(self.reader, None)
            if frames:
                return frames

    def close(self):
        self.mid_frame.pop(self.reader, None)


class ClientSession:
    """One client's connection: its Updates and Deletes are stamped and queued, ListAll is answered in order."""

    def __init__(self, replica, user, frames, writer):
        self.replica, self.user, self.frames, self.writer = replica, user, frames, writer
        self.last_write = 0  # the sequence of this client's newest write

    async def serve(self):
        while (frames := await self.frames.next_frames()) is not None:
            writes = []
            for frame in frames:
                if isinstance(frame, ListAll):
                    await self.write(writes)
                    writes = []
                    await self.list_all()
                else:
                    writes.append(frame)
            await self.write(writes)

    async def write(self, frames):
        if frames:
            self.last_write = await self.replica.write_local(self.user, frames)

    async def list_all(self):
        """Answer with this user's contacts, this client's own writes included (the protocol has no acks)."""
        await self.replica.until_stored(self.last_write)
        entries = await self.replica.on_reads(services.list_contacts, self.replica.replica_id, self.user)
        self.writer.write(protocol.encode_contact_list(entries))
        await self.writer.drain()


@dataclass(eq=False)
class PeerLink:
    """One live connection to another replica, dialled by us or by it."""

    name: bytes  # as the peer sent it
    frames: FrameReader
    writer: asyncio.StreamWriter
    outgoing: bool
    opened: float = field(default_factory=lambda: asyncio.get_running_loop().time())
    heard: float = field(default_factory=lambda: asyncio.get_running_loop().time())
    # Catch-up (see time_catchup): the sequence of the newest write received while
    # catching up, and when the newest of them was stored.
    last_write: int = 0
    applied_write: int = 0
    applied_at: float = 0.0

    def send(self, data):
        # The connection can be gone before this link's task notices and drops the link, and
        # uvloop raises on a write to a closed transport: that error would end the session of
        # the client whose write is being forwarded. Nothing is lost by not sending: a peer
        # asks for everything when it links again.
        if not self.writer.transport.is_closing():
            self.writer.write(data)

    def cut(self, reason):
        """End the link from outside its own task (a silent peer): its read fails with `reason`."""
        self.frames.reader.set_exception(TimeoutError(reason))

    async def serve(self, replica, spawn, quiet_after):
        """Exchange server frames with the peer until it goes away or falls silent."""
        replica.link(link := self)
        log.info("%s: linked with %s (%s)", replica.name, shown(link.name), "dialled" if link.outgoing else "incoming")
        loop = asyncio.get_running_loop()
        timing = spawn(self.time_catchup(replica, quiet_after))
        try:
            link.send(AskForUpdate().encode())
            while (frames := await self.frames.next_frames()) is not None:
                link.heard = loop.time()
                if any(isinstance(frame, AskForUpdate) for frame in frames):
                    spawn(self.send_snapshot(replica))
                    frames = [frame for frame in frames if not isinstance(frame, AskForUpdate)]
                sequence = await replica.receive(frames, link.name)
                if any(isinstance(frame, Update | protocol.Delete) for frame in frames):
                    link.last_write = sequence
        finally:
            timing.cancel()  # a link that ends while catching up measures nothing
            replica.links.discard(link)
            self.frames.close()
            log.info("%s: link with %s closed", replica.name, shown(link.name))

    async def send_snapshot(self, replica):
        frames = await replica.on_reads(services.replica_snapshot, replica.replica_id)
        for start in range(0, len(frames), 1000):
            if self not in replica.links:
                return
            self.send(b"".join(frame.encode() for frame in frames[start : start + 1000]))
            await self.writer.drain()

    async def time_catchup(self, replica, quiet_after):
        """Time this link's catch-up: from its opening until the writes of its first burst are stored.

        The burst is the peer's answer to our AskForUpdate, but the wire marks no end to it:
        it is over once the link has brought no write for `quiet_after` seconds. A link that
        brings none caught up at once.
        """
        replica.catching_up.add(self)
        try:
            seen = None
            while self.last_write != seen:
                seen = self.last_write
                await asyncio.sleep(quiet_after)
            await replica.until_stored(seen)
            replica.last_catchup_seconds = max(0.0, self.applied_at - self.opened) if seen else 0.0
        finally:
            replica.catching_up.discard(self)
