"""The replica's asyncio TCP server: accepts and handshakes, dials peers, beats, cuts stuck connections.

What a connection does once it is known lives in contacts/connections.py (ClientSession,
PeerLink); the clock, the write queue and batching in contacts/replica.py (Replica); every
database read and write in contacts/services.py.
"""

import asyncio
import logging
import random
import socket
import time

from contacts import protocol
from contacts.clock import ClockExhausted
from contacts.connections import ClientSession, FrameReader, PeerLink
from contacts.peer_auth import PeerGate, make_proof, normalised
from contacts.protocol import Handshake, HeartBeat, ProtocolError
from contacts.replica import Replica

log = logging.getLogger("contacts.replica")


def parse_address(text):
    """`host:port` → (host, port); IPv6 hosts may be bracketed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class ReplicaServer:
    """A contacts replica: serves clients and peers on `listen`, dials every address in `peers`.

    Only the hosts of `peers` and `accept_peers` may speak to it as a server (contacts/peer_auth.py).
    `config` is everything else it runs with (contacts/config.py).
    """

    def __init__(self, name, listen, peers=(), *, accept_peers=(), config):
        self.name, self.listen, self.peers = name, listen, list(peers)
        self.wire_name = name.encode()
        self.peer_hosts = {host for host, _ in self.peers} | set(accept_peers)
        self.config = config
        self.gate, self.gate_refreshed = PeerGate(config.peer_secret, config.peer_proof_window), None
        self.hello()  # a name that does not fit the wire (with its proof) fails at start, not at the first peer
        self.replica = Replica(name, config)
        self.tasks = set()
        # For the metrics (contacts/metrics.py), read by the metrics server's thread.
        self.peer_up = {f"{host}:{port}": False for host, port in self.peers}
        self.mid_frame = {}  # reader → when its current frame began; see watch_forever
        self.server = self.storer = None

    # --- lifecycle ---

    async def start(self):
        """Open the replica (StaleReplica if it must rejoin empty), listen, and start dialling and beating.

        The port is bound first: a replica that cannot have it (OSError) leaves no trace in the database.
        """
        self.server = await asyncio.start_server(
            self.handle_connection, *self.listen, limit=1 << 20, start_serving=False
        )
        self.listen = self.server.sockets[0].getsockname()[:2]
        try:
            await self.replica.open()
        except BaseException:
            self.server.close()
            raise
        await self.resolve_peers()
        await self.server.start_serving()
        await self.replica.note_alive()
        self.storer = self.spawn(self.replica.store_forever())
        self.spawn(self.heartbeat_forever())
        self.spawn(self.watch_forever())
        self.spawn(self.purge_forever())
        for address in self.peers:
            self.spawn(self.dial_forever(address))
        log.info("%s listening on %s:%s, clock %s, peers %s", self.name, *self.listen, self.clock.value, self.peers)
        return self

    async def stop(self):
        """Stop listening, drop every connection, store what is queued, release the database."""
        self.server.close()
        for task in list(self.tasks):
            if task is not self.storer:
                task.cancel()
        await asyncio.gather(*self.tasks - {self.storer}, return_exceptions=True)
        await self.replica.close()
        self.storer.cancel()
        await asyncio.gather(self.storer, return_exceptions=True)
        log.info("%s stopped at clock %s", self.name, self.clock.value)

    @property
    def clock(self):
        return self.replica.clock

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # --- connections ---

    async def handle_connection(self, reader, writer):
        self.tasks.add(asyncio.current_task())
        host, port = writer.get_extra_info("peername")[:2]
        try:
            async with asyncio.timeout(self.config.read_timeout):
                hello = protocol.decode_handshake(await reader.readexactly(protocol.HANDSHAKE_SIZE))
            if hello.role == protocol.ROLE_CLIENT:
                frames = self.frame_reader(reader, protocol.client_payload_size, protocol.decode_client_frame)
                await ClientSession(self.replica, hello.name, frames, writer).serve()
            else:
                await self.admit_peer(host, hello)
                writer.write(protocol.encode_name(self.wire_name))
                await self.serve_peer(hello.name, reader, writer, outgoing=False)
        except asyncio.CancelledError:
            pass  # stopping: end quietly (asyncio would log a cancelled connection task as an error)
        except Exception as error:  # every failure of one connection ends only that connection
            log_connection_end(self.name, f"{host}:{port}", error)
        finally:
            self.tasks.discard(asyncio.current_task())
            self.mid_frame.pop(reader, None)
            writer.close()

    def hello(self):
        """The handshake this replica dials with: a proof of the shared secret rides in it when one is set."""
        proof = make_proof(self.gate.secret, self.wire_name, time.time()) if self.gate.secret else b""
        return Handshake(protocol.ROLE_SERVER, self.wire_name, proof).encode()

    async def admit_peer(self, host, hello):
        """PeerRefused unless `hello` comes from a peer; an unknown address first re-resolves the peers' hosts."""
        loop = asyncio.get_running_loop()
        stale = loop.time() - self.gate_refreshed > self.config.heartbeat_interval
        if normalised(host) not in self.gate.addresses and stale:
            await self.resolve_peers()  # at most once a heartbeat: a peer's host may have moved
        self.gate.admit(host, hello, time.time())

    async def resolve_peers(self):
        loop, addresses = asyncio.get_running_loop(), set()
        for host in self.peer_hosts:
            try:
                found = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError as error:
                log.warning("%s: cannot resolve peer host %s: %s", self.name, host, error)
                continue
            addresses.update(normalised(info[4][0]) for info in found)
        self.gate.addresses, self.gate_refreshed = addresses, loop.time()

    def frame_reader(self, reader, payload_size, decode_frame):
        return FrameReader(reader, payload_size, decode_frame, self.mid_frame)

    async def serve_peer(self, name, reader, writer, outgoing):
        frames = self.frame_reader(reader, protocol.server_payload_size, protocol.decode_server_frame)
        await PeerLink(name, frames, writer, outgoing).serve(self.replica, self.spawn, self.config.heartbeat_interval)

    async def watch_forever(self):
        """Cut connections stuck in the middle of a frame for longer than the read timeout."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.read_timeout / 4)
            for reader, since in list(self.mid_frame.items()):
                if loop.time() - since > self.config.read_timeout:
                    reader.set_exception(TimeoutError(f"half-sent frame for over {self.config.read_timeout} s"))

    async def heartbeat_forever(self):
        """Beat on every link, drop peers silent for three beats (they get redialled), note peers heard."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            data = HeartBeat(self.clock.value).encode()
            heard = False
            for link in list(self.replica.links):
                if loop.time() - link.heard > 3 * self.config.heartbeat_interval:
                    link.cut(f"{link.name.decode(errors='replace')} silent for 3 heartbeats")
                else:
                    link.send(data)
                    heard = True
            if heard:
                await self.replica.note_peers_seen()
            await self.replica.note_alive()

    async def purge_forever(self):
        """Purge tombstones older than the TTL, now and every purge interval."""
        while True:
            await self.replica.purge_tombstones()
            await asyncio.sleep(self.config.purge_interval)

    async def dial_forever(self, address):
        """Keep one outgoing link to `address`, redialling with exponential backoff and jitter.

        A peer that does not answer is logged once, and only after three heartbeat intervals:
        replicas started together refuse each other's first dials, which is not news.
        """
        loop = asyncio.get_running_loop()
        delay, unanswered_since, told = self.config.redial_min, loop.time(), False
        while True:
            writer = None
            try:
                try:
                    reader, writer = await asyncio.open_connection(*address, limit=1 << 20)
                except OSError as error:
                    if not told and loop.time() - unanswered_since >= 3 * self.config.heartbeat_interval:
                        log.warning(
                            "%s: peer %s:%s does not answer (%s); redialling until it does", self.name, *address, error
                        )
                        told = True
                    raise DialFailed from error
                unanswered_since, told = None, False
                writer.write(self.hello())
                async with asyncio.timeout(self.config.read_timeout):
                    name = protocol.decode_name(await reader.readexactly(protocol.NAME_WIDTH))
                delay = self.config.redial_min
                self.peer_up[f"{address[0]}:{address[1]}"] = True
                await self.serve_peer(name, reader, writer, outgoing=True)
            except DialFailed:
                pass
            except Exception as error:  # any failure means: wait, then dial again
                log_connection_end(self.name, f"{address[0]}:{address[1]}", error)
            finally:
                self.peer_up[f"{address[0]}:{address[1]}"] = False
                if unanswered_since is None:
                    unanswered_since = loop.time()
                if writer is not None:
                    self.mid_frame.pop(reader, None)
                    writer.close()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.config.redial_max)


class DialFailed(Exception):
    """A peer's address refused or dropped the TCP connect (dial_forever logs that itself)."""


def log_connection_end(name, address, error):
    if isinstance(error, ClockExhausted):
        log.error("%s: closing %s: %s", name, address, error)
    elif isinstance(error, ProtocolError):
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
