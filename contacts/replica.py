"""A replica's state on its event loop: the Lamport clock, the writes waiting for the database, its peer links.

Everything here runs on the event loop, so the clock has one owner: it ticks when a client's
write is stamped, is pulled forward by every clock a peer sends, and is read for heartbeats,
all on the loop. Database work goes through `contacts.services` on two database threads
(chatsite/core/database.py): one stores writes in batches (in stamping order), one reads
(ListAll, snapshots), so a big read never delays writes. After a failed call the thread
drops a connection that no longer answers, so the next call starts on a fresh one.

A stamped write is never undone. If its batch fails, the batch is tried again until the
database takes it; the clock is not rolled back, so no clock a peer was told about is ever
handed out twice.

Propagation: a client's write goes to the peers as soon as it is stamped, before its batch
is stored, so a change reaches the other replicas without waiting for this one's commit.
A peer must still never hold a write its origin then loses, and it does not, because:
- the origin never drops or rolls back a stamped write (failed batches are retried);
- if the origin dies before storing it, its peers hold it, and the origin gets it back in
  their answer to its AskForUpdate when it restarts (the write is stored where it landed,
  and last-writer-wins makes applying it twice or late harmless);
- the restarted origin's clock resumes at its reservation, past every clock it stamped,
  so its new writes order after the ones it sent before dying;
- a link that opens while writes are stamped but not stored is sent those writes too, as
  the snapshot it asks for is read from the database and may miss them.
"""

import asyncio
import logging

from django.utils import timezone

from chatsite.core.database import DatabaseThread
from contacts import services
from contacts.clock import ClockExhausted, ClockOutOfRange
from contacts.models import shown
from contacts.protocol import Delete, Update
from contacts.services import Write

log = logging.getLogger("contacts.replica")


class Replica:
    """One replica: stamps and stores its writes, sends them to its peers, answers from its database."""

    def __init__(self, name, config):
        self.name, self.config = name, config
        self.replica_id = self.clock = None
        self.waiting = []  # Write, in stamping and arrival order
        self.storing = []  # the batch on the writer thread
        self.enqueued = self.stored = 0  # sequence numbers: `stored` reaches a write's once it is stored
        self.writes_applied = 0  # for the metrics
        self.waiters = []
        self.has_writes = asyncio.Event()
        self.has_room = asyncio.Event()
        self.links = set()
        self.catching_up = set()
        self.peers_seen_at = None
        self.last_catchup_seconds = None  # for the metrics: see PeerLink.time_catchup
        self.writes, self.reads = DatabaseThread(f"{name}-writes"), DatabaseThread(f"{name}-reads")

    async def open(self):
        """Load the replica and its clock; refuse (StaleReplica) one away from its peers for longer than the TTL."""
        replica, self.clock = await self.on_writes(services.open_replica, self.name, self.config.clock_lease)
        self.replica_id, self.peers_seen_at = replica.id, replica.peers_seen_at
        await self.on_writes(services.check_rejoin, replica, timezone.now(), self.config.tombstone_ttl)
        return self

    async def close(self):
        """Store every write already accepted, give back the unused clock reservation, release the database."""
        await self.until_stored(self.enqueued)
        await self.on_writes(services.release_clock, self.replica_id, self.clock.value)
        await self.note_alive(running=False)
        for thread in (self.writes, self.reads):
            await thread.close()

    async def on_writes(self, function, *args):
        return await self.writes.run(function, *args)

    async def on_reads(self, function, *args):
        return await self.reads.run(function, *args)

    # --- the clock and the write queue ---

    async def write_local(self, user, frames):
        """Stamp a client's Updates and Deletes and queue them; returns the sequence of the last one.

        ClockExhausted once the clock is at its limit; the writes stamped before it stand.
        """
        await self.until_room()
        stamped = []
        try:
            while len(stamped) < len(frames):
                if not self.clock.can_tick():
                    await self.reserve_clock()
                stamped += self.stamp(user, frames[len(stamped) :])
        finally:
            # To the peers at once, before the batch is stored: see "Propagation" in the module docstring.
            if stamped and self.links:
                self.forward(b"".join(frame.encode() for frame in stamped))
            sequence = self.enqueue(len(stamped))
        return sequence

    def stamp(self, user, frames):
        """Stamp and queue as many of a client's frames as the reservation allows; returns their server frames."""
        clock, waiting, stamped = self.clock, self.waiting, []
        for frame in frames:
            if not clock.can_tick():
                break
            stamped.append(services.stamp(user, frame, clock))
            waiting.append(Write(stamped[-1], True))
        return stamped

    async def receive(self, frames, peer=b"?"):
        """Take a peer's frames: every clock pulls ours forward, Updates and Deletes are queued to store.

        A clock past the limit is refused (ClockOutOfRange, and the link is closed): the
        frames before it stand, it and those after it change nothing.
        """
        await self.until_room()
        writes, refused = self.observe(frames)
        self.waiting += writes
        sequence = self.enqueue(len(writes))
        if refused is not None:
            raise ClockOutOfRange(f"peer {shown(peer)} sent {refused}; frame refused")
        return sequence

    def observe(self, frames):
        """The writes among a peer's frames, each clock observed in order: (writes, the refusal that stopped them)."""
        writes, observe = [], self.clock.observe
        for frame in frames:
            try:
                observe(frame.clock)
            except ClockOutOfRange as refused:
                return writes, refused
            if isinstance(frame, Update | Delete):
                writes.append(Write(frame, False))
        return writes, None

    def enqueue(self, count):
        self.enqueued += count
        if count:
            self.has_writes.set()
        return self.enqueued

    async def reserve_clock(self):
        """Save a new reservation before stamping past the old one (rare: each stored batch renews it)."""
        reserved = self.clock.next_reservation(self.config.clock_lease)
        if reserved <= self.clock.value:
            raise ClockExhausted(
                f"{self.name}'s clock is at its limit {self.clock.limit}: no write can be stamped. "
                "Stop it and start it once with --reset-clock (docs/protocols/contacts.md)."
            )
        self.clock.reserve(await self.on_writes(services.reserve_clock, self.replica_id, reserved))

    async def until_room(self):
        while len(self.waiting) >= self.config.queue_size:
            self.has_room.clear()
            await self.has_room.wait()

    async def until_stored(self, sequence):
        if self.stored >= sequence:
            return
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((sequence, future))
        await future

    async def store_forever(self):
        """Store queued writes in batches, in order; a batch that fails is tried again until it is stored."""
        while True:
            if not self.waiting:
                self.has_writes.clear()
                await self.has_writes.wait()
                continue
            batch = self.storing = self.waiting[: self.config.batch_size]
            del self.waiting[: self.config.batch_size]
            self.has_room.set()
            clock = self.clock.value
            reserved = self.clock.next_reservation(self.config.clock_lease)
            while True:
                try:
                    await self.on_writes(services.store_writes, self.replica_id, batch, clock, reserved)
                    break
                except Exception:
                    log.exception(
                        "%s could not store %d writes; trying again in %s s",
                        self.name,
                        len(batch),
                        self.config.store_retry_interval,
                    )
                    await asyncio.sleep(self.config.store_retry_interval)
            self.clock.reserve(reserved)
            self.storing = []
            self.stored += len(batch)
            self.writes_applied += len(batch)
            self.note_catchup_progress()
            self.wake_waiters()

    def wake_waiters(self):
        still = []
        for sequence, future in self.waiters:
            if sequence <= self.stored:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((sequence, future))
        self.waiters = still

    def note_catchup_progress(self):
        now = asyncio.get_running_loop().time()
        for link in self.catching_up:
            if link.applied_write < link.last_write <= self.stored:
                link.applied_write, link.applied_at = link.last_write, now

    # --- peers ---

    def link(self, link):
        """Add a peer link, and send it this replica's writes not stored yet, which its snapshot may miss."""
        self.links.add(link)
        unstored = [write.frame.encode() for write in (*self.storing, *self.waiting) if write.local]
        if unstored:
            link.send(b"".join(unstored))

    def forward(self, data):
        """Send frames to every peer once, on its newest link (the others may be stale)."""
        newest = {}
        for link in self.links:
            if link.name not in newest or link.opened > newest[link.name].opened:
                newest[link.name] = link
        for link in newest.values():
            if link.writer.transport.get_write_buffer_size() > self.config.peer_buffer_limit:
                # It will redial and ask for everything, so nothing is lost by dropping it.
                log.warning("%s: peer %s is not reading; dropping the link", self.name, shown(link.name))
                self.links.discard(link)
                link.writer.close()
                continue
            link.send(data)

    async def note_peers_seen(self):
        """Remember, in the database too, that a peer was heard from now (see CONTACTS_TOMBSTONE_TTL)."""
        self.peers_seen_at = timezone.now()
        await self.on_writes(services.note_peers_seen, self.replica_id, self.peers_seen_at)

    async def note_alive(self, running=True):
        """Tell the contacts page, through the database, that this replica runs (or has stopped)."""
        try:
            await self.on_writes(services.note_alive, self.replica_id, timezone.now() if running else None)
        except Exception as error:  # the page is only told late; the replica goes on
            log.warning("%s: cannot note that it is %s: %s", self.name, "running" if running else "stopped", error)

    async def purge_tombstones(self):
        ttl = self.config.tombstone_ttl
        purged = await self.on_writes(services.purge_tombstones, self.replica_id, timezone.now() - ttl)
        if purged:
            log.info("%s purged %d tombstones older than %s", self.name, purged, ttl)
        return purged
