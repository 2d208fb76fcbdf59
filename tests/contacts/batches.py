"""A replica's batch without its event loop: the real `Replica` stamps and observes, then it is stored."""

from dataclasses import dataclass

from contacts import services
from contacts.config import ReplicaConfig
from contacts.protocol import ClientDelete, ClientUpdate
from contacts.replica import Replica

# The clock reservation a replica makes with the settings' CONTACTS_CLOCK_LEASE.
LEASE = ReplicaConfig.from_settings().clock_lease


@dataclass(frozen=True, slots=True)
class LocalWrite:
    """A client's Update or Delete, not yet stamped with the replica's clock."""

    user: bytes
    frame: ClientUpdate | ClientDelete


def apply_batch(replica_id, clock, ops, lease=10):
    """What a Replica does with `ops`, through its own `stamp` and `observe`, stored as one batch.

    Returns the stamped frames of the local writes and how many rows changed. A received
    clock that the replica refuses raises its ClockOutOfRange, after the frames before it
    were queued.
    """
    replica = Replica(f"replica-{replica_id}", ReplicaConfig.from_settings(clock_lease=lease))
    replica.replica_id, replica.clock = replica_id, clock
    stamped = []
    try:
        for op in ops:
            if isinstance(op, LocalWrite):
                if not clock.can_tick():
                    clock.reserve(services.reserve_clock(replica_id, clock.next_reservation(lease)))
                stamped += replica.stamp(op.user, [op.frame])
            else:
                writes, refused = replica.observe([op])
                replica.waiting += writes
                if refused is not None:
                    raise refused
    finally:
        changed = services.store_writes(replica_id, replica.waiting, clock.value, clock.reserved)
    return stamped, changed
