"""The replica's asyncio TCP server: handshakes, client and peer links, heartbeats, redials.

All database work goes through `contacts.services` on two dedicated threads: one that
applies writes in batches (so a replica's writes are serialised and its clock has one
owner), one for reads (ListAll, AskForUpdate), so a big read never delays writes.
"""

import asyncio
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection, connections

from contacts import protocol, services
from contacts.models import shown
from contacts.protocol import AskForUpdate, Delete, Handshake, HeartBeat, ListAll, ProtocolError, Update, UpdateClock

log = logging.getLogger("contacts.replica")


def parse_address(text):
    """`host:port` → (host, port); IPv6 hosts may be bracketed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


@dataclass(eq=False)
class PeerLink:
    """One live connection to another replica, dialled by us or by it."""

    name: bytes  # as the peer sent it
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    outgoing: bool
    opened: float = field(default_factory=lambda: asyncio.get_running_loop().time())
    heard: float = field(default_factory=lambda: asyncio.get_running_loop().time())
    # Catch-up (see ReplicaServer.time_catchup): the sequence of the newest write received
    # while catching up, and when the newest of them was applied.
    last_write: int = 0
    applied_write: int = 0
    applied_at: float = 0.0

    def send(self, data):
        self.writer.write(data)


class ReplicaServer:
    """A contacts replica: serves clients and peers on `listen`, dials every address in `peers`."""

    def __init__(
        self,
        name,
        listen,
        peers=(),
        *,
        heartbeat_interval=5.0,
        read_timeout=10.0,
        redial_min=0.1,
        redial_max=5.0,
        batch_size=2000,
        queue_size=20000,
        peer_buffer_limit=64 * 1024 * 1024,
    ):
        self.name, self.listen, self.peers = name, listen, list(peers)
        self.wire_name = name.encode()
        protocol.encode_name(self.wire_name)  # a name that does not fit the wire fails at start, not at the first peer
        self.heartbeat_interval, self.read_timeout = heartbeat_interval, read_timeout
        self.redial_min, self.redial_max = redial_min, redial_max
        self.batch_size, self.peer_buffer_limit = batch_size, peer_buffer_limit
        self.queue = asyncio.Queue(queue_size)
        self.links = set()
        self.tasks = set()
        self.enqueued = self.applied = 0
        # For the metrics (contacts/metrics.py), read by the metrics server's thread.
        self.writes_applied = 0
        self.peer_up = {f"{host}:{port}": False for host, port in self.peers}
        self.catching_up = set()
        self.last_catchup_seconds = None
        self.waiters = []
        self.mid_frame = {}  # reader → when its current frame began; see watch_forever
        self.writes = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-writes")
        self.reads = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-reads")
        self.server = None
        self.replica_id = self.clock = None

    # --- lifecycle ---

    async def start(self):
        replica, self.clock = await self.on_writes(services.open_replica, self.name)
        self.replica_id = replica.id
        self.server = await asyncio.start_server(self.handle_connection, *self.listen, limit=1 << 20)
        self.listen = self.server.sockets[0].getsockname()[:2]
        self.spawn(self.apply_forever())
        self.spawn(self.heartbeat_forever())
        self.spawn(self.watch_forever())
        for address in self.peers:
            self.spawn(self.dial_forever(address))
        log.info("%s listening on %s:%s, clock %s, peers %s", self.name, *self.listen, self.clock.value, self.peers)
        return self

    async def stop(self):
        """Stop listening, drop every connection, apply what is queued, release the database."""
        self.server.close()
        for task in list(self.tasks):
            if task is not self.applier:
                task.cancel()
        await asyncio.gather(*self.tasks - {self.applier}, return_exceptions=True)
        await self.queue.join()
        self.applier.cancel()
        await asyncio.gather(self.applier, return_exceptions=True)
        for executor in (self.writes, self.reads):
            await asyncio.get_running_loop().run_in_executor(executor, connections.close_all)
            executor.shutdown()
        log.info("%s stopped at clock %s", self.name, self.clock.value)

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def on_writes(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.writes, _with_connection, function, *args)

    async def on_reads(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.reads, _with_connection, function, *args)

    # --- writes ---

    async def submit(self, op):
        """Queue a write; returns its sequence number, which `applied` reaches once it is stored."""
        await self.queue.put(op)
        self.enqueued += 1
        return self.enqueued

    async def until_applied(self, sequence):
        if self.applied >= sequence:
            return
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((sequence, future))
        await future

    async def apply_forever(self):
        self.applier = asyncio.current_task()
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                stamped, _ = await self.on_writes(services.apply_batch, self.replica_id, self.clock, batch)
                self.writes_applied += sum(not isinstance(op, HeartBeat | UpdateClock) for op in batch)
            except Exception:
                log.exception("%s could not store %d writes; they are lost", self.name, len(batch))
                stamped = []
            finally:
                self.applied += len(batch)
                for _ in batch:
                    self.queue.task_done()
                self.note_catchup_progress()
                self.wake_waiters()
            if stamped:
                # One write per peer for the whole batch, not a send() per frame.
                self.broadcast(b"".join(frame.encode() for frame in stamped))

    def note_catchup_progress(self):
        now = asyncio.get_running_loop().time()
        for link in self.catching_up:
            if link.applied_write < link.last_write <= self.applied:
                link.applied_write, link.applied_at = link.last_write, now

    async def time_catchup(self, link):
        """Time a new link's catch-up: from its opening until the writes of its first burst are applied.

        The burst is the peer's answer to our AskForUpdate, but the wire marks no end to it:
        it is over once the link has brought no write for a heartbeat interval. A link that
        brings none caught up at once.
        """
        self.catching_up.add(link)
        try:
            seen = None
            while link.last_write != seen:
                seen = link.last_write
                await asyncio.sleep(self.heartbeat_interval)
            await self.until_applied(seen)
            self.last_catchup_seconds = max(0.0, link.applied_at - link.opened) if seen else 0.0
        finally:
            self.catching_up.discard(link)

    def wake_waiters(self):
        still = []
        for sequence, future in self.waiters:
            if sequence <= self.applied:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((sequence, future))
        self.waiters = still

    def broadcast(self, data):
        """Send frames to every peer once, on its newest link (the others may be stale)."""
        newest = {}
        for link in self.links:
            if link.name not in newest or link.opened > newest[link.name].opened:
                newest[link.name] = link
        for link in newest.values():
            if link.writer.transport.get_write_buffer_size() > self.peer_buffer_limit:
                # It will redial and ask for everything, so nothing is lost by dropping it.
                log.warning("%s: peer %s is not reading; dropping the link", self.name, shown(link.name))
                self.links.discard(link)
                link.writer.close()
                continue
            link.send(data)

    # --- connections ---

    async def handle_connection(self, reader, writer):
        self.tasks.add(asyncio.current_task())
        host, port = writer.get_extra_info("peername")[:2]
        address = f"{host}:{port}"
        try:
            async with asyncio.timeout(self.read_timeout):
                hello = protocol.decode_handshake(await reader.readexactly(protocol.HANDSHAKE_SIZE))
            if hello.role == protocol.ROLE_CLIENT:
                await self.serve_client(hello.name, reader, writer)
            else:
                writer.write(protocol.encode_name(self.wire_name))
                await self.serve_peer(PeerLink(hello.name, reader, writer, outgoing=False))
        except asyncio.CancelledError:
            pass  # stopping: end quietly (asyncio would log a cancelled connection task as an error)
        except Exception as error:  # every failure of one connection ends only that connection
            log_connection_end(self.name, address, error)
        finally:
            self.tasks.discard(asyncio.current_task())
            writer.close()

    async def read_frame(self, reader, payload_size, decode):
        command = (await reader.readexactly(1))[0]
        size = payload_size(command)
        if not size:
            return decode(command, b"")
        # Not asyncio.timeout(): arming a timer per frame costs a fifth of the time at 15k frames/s.
        self.mid_frame[reader] = asyncio.get_running_loop().time()
        try:
            return decode(command, await reader.readexactly(size))
        finally:
            del self.mid_frame[reader]

    async def watch_forever(self):
        """Cut connections stuck in the middle of a frame for longer than the read timeout."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.read_timeout / 4)
            for reader, since in list(self.mid_frame.items()):
                if loop.time() - since > self.read_timeout:
                    reader.set_exception(TimeoutError(f"half-sent frame for over {self.read_timeout} s"))

    async def serve_client(self, user, reader, writer):
        last = 0
        while True:
            try:
                frame = await self.read_frame(reader, protocol.client_payload_size, protocol.decode_client_frame)
            except asyncio.IncompleteReadError as error:
                if not error.partial:
                    return  # a clean goodbye between frames
                raise
            if isinstance(frame, ListAll):
                await self.until_applied(last)  # the answer includes this client's own writes
                entries = await self.on_reads(services.list_contacts, self.replica_id, user)
                writer.write(protocol.encode_contact_list(entries))
                await writer.drain()
            else:
                last = await self.submit(services.LocalWrite(user, frame))

    async def serve_peer(self, link):
        """Exchange server frames with a peer until it goes away or falls silent."""
        self.links.add(link)
        log.info("%s: linked with %s (%s)", self.name, shown(link.name), "dialled" if link.outgoing else "incoming")
        loop = asyncio.get_running_loop()
        timing = self.spawn(self.time_catchup(link))
        try:
            link.send(AskForUpdate().encode())
            while True:
                frame = await self.read_frame(link.reader, protocol.server_payload_size, protocol.decode_server_frame)
                link.heard = loop.time()
                if isinstance(frame, AskForUpdate):
                    self.spawn(self.send_snapshot(link))
                else:
                    sequence = await self.submit(frame)
                    if isinstance(frame, Update | Delete):
                        link.last_write = sequence
        finally:
            timing.cancel()  # a link that ends while catching up measures nothing
            self.links.discard(link)
            log.info("%s: link with %s closed", self.name, shown(link.name))

    async def send_snapshot(self, link):
        frames = await self.on_reads(services.replica_snapshot, self.replica_id)
        for start in range(0, len(frames), 1000):
            if link not in self.links:
                return
            link.send(b"".join(frame.encode() for frame in frames[start : start + 1000]))
            await link.writer.drain()

    async def heartbeat_forever(self):
        """Beat on every link, and drop peers not heard from for three beats (they get redialled)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            data = HeartBeat(self.clock.value).encode()
            for link in list(self.links):
                if loop.time() - link.heard > 3 * self.heartbeat_interval:
                    link.reader.set_exception(TimeoutError(f"{shown(link.name)} silent for 3 heartbeats"))
                else:
                    link.send(data)

    async def dial_forever(self, address):
        """Keep one outgoing link to `address`, redialling with exponential backoff and jitter."""
        delay = self.redial_min
        while True:
            writer = None
            try:
                reader, writer = await asyncio.open_connection(*address, limit=1 << 20)
                writer.write(Handshake(protocol.ROLE_SERVER, self.wire_name).encode())
                async with asyncio.timeout(self.read_timeout):
                    name = protocol.decode_name(await reader.readexactly(protocol.NAME_WIDTH))
                delay = self.redial_min
                self.peer_up[f"{address[0]}:{address[1]}"] = True
                await self.serve_peer(PeerLink(name, reader, writer, outgoing=True))
            except Exception as error:  # any failure means: wait, then dial again
                log_connection_end(self.name, f"{address[0]}:{address[1]}", error)
            finally:
                self.peer_up[f"{address[0]}:{address[1]}"] = False
                if writer is not None:
                    writer.close()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.redial_max)


def _with_connection(function, *args):
    try:
        return function(*args)
    except Exception:
        # After a database error the next call starts on a fresh connection, not a dead one.
        connection.close()
        raise


def log_connection_end(name, address, error):
    if isinstance(error, ProtocolError):
        log.warning("%s: closing %s: protocol error: %s", name, address, error)
    elif isinstance(error, asyncio.IncompleteReadError) and not error.partial:
        log.info("%s: %s closed the connection", name, address)
    elif isinstance(error, asyncio.IncompleteReadError):
        log.warning("%s: %s went away mid-frame (%d of %d bytes)", name, address, len(error.partial), error.expected)
    elif isinstance(error, TimeoutError):
        log.warning("%s: closing %s: timed out: %s", name, address, error or "no answer")
    elif isinstance(error, OSError):
        log.info("%s: %s: %s", name, address, error)
    else:
        log.exception("%s: closing %s after an unexpected error", name, address, exc_info=error)
