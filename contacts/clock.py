"""Lamport clock and the last-writer-wins order that every replica applies the same way.

The clock of a running replica has one owner, the event loop of its `contacts.replica.Replica`:
it ticks there when a client's write is stamped, is pulled forward there by every clock a peer
sends, and is read there for heartbeats. It never goes back; the database thread only stores
what the loop decided (see `Replica` for why a failed batch is retried rather than undone).
"""

from dataclasses import dataclass

from contacts.protocol import MAX_CLOCK, Delete, ProtocolError

UPDATE_RANK = 0
DELETE_RANK = 1


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """The order of two writes to one contact: the greater version wins everywhere.

    Compared as (clock, rank, phone bytes): a later clock wins; at equal clocks a
    delete beats an update, and between two updates the greater phone bytes win.
    None of it needs the origin's name, which is not on the wire, so every replica
    picks the same winner and `max` over any interleaving of the same writes agrees.
    """

    clock: int
    rank: int
    phone: bytes

    @classmethod
    def of(cls, clock, deleted, phone):
        """The version of a write or a stored row: a delete (tombstone) ranks above an update and has no phone."""
        return cls(clock, DELETE_RANK, b"") if deleted else cls(clock, UPDATE_RANK, phone)

    @classmethod
    def of_frame(cls, frame):
        """The version of a server Update or Delete frame."""
        if isinstance(frame, Delete):
            return cls(frame.clock, DELETE_RANK, b"")
        return cls(frame.clock, UPDATE_RANK, frame.phone)


class ClockOutOfRange(ProtocolError):
    """A received clock past the replica's limit: the frame is refused and its connection closed."""


class ClockExhausted(Exception):
    """The clock is at its limit: no local write can be stamped until it is reset (see `clock_limit`)."""


def clock_limit(clock_lease):
    """The largest clock a replica accepts or stamps: the wire's largest, less room for one reservation.

    Every clock on the wire is 4 bytes, and a replica saves `clock_lease` ticks ahead of the
    clock before it stamps with them. A clock past this limit would leave a reservation
    that no 4-byte clock can reach, so it is never observed or stamped: a frame carrying
    one is refused (docs/protocols/contacts.md, "Clocks from outside").
    """
    return MAX_CLOCK - clock_lease


class LamportClock:
    """A replica's logical time: local writes tick it, received clocks pull it forward.

    `reserved` is the value saved in the database ahead of use (a lease): no write is
    stamped past it, so a replica restarted after a crash resumes at or beyond every clock
    it ever sent, including clocks of writes that reached its peers but not its own disk.
    Neither it nor the value ever passes `limit`, so every clock it holds can be sent.
    """

    def __init__(self, value=0, reserved=None, limit=MAX_CLOCK):
        self.value = value
        self.reserved = value if reserved is None else reserved
        self.limit = limit

    def can_tick(self):
        """Whether the next tick stays within the saved reservation."""
        return self.value < self.reserved

    def tick(self):
        if not self.can_tick():
            raise RuntimeError(f"clock {self.value} is at its reservation; reserve more before stamping")
        self.value += 1
        return self.value

    def observe(self, clock):
        """Pull the clock forward to a received `clock`; one past the limit is refused and changes nothing."""
        if clock > self.limit:
            raise ClockOutOfRange(f"clock {clock}, past this replica's limit {self.limit}")
        if clock > self.value:
            self.value = clock
        return self.value

    def next_reservation(self, lease):
        """The reservation to save before stamping up to `lease` more writes (never past the limit)."""
        return min(self.value + lease, self.limit)

    def exhausted(self):
        return self.value >= self.limit

    def reserve(self, reserved):
        """Record a reservation the database now holds (reservations only grow)."""
        self.reserved = max(self.reserved, min(reserved, self.limit))
