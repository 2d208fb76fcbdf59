"""A replica's batch without its event loop, for tests of the service functions it runs."""

from dataclasses import dataclass

from contacts import services
from contacts.protocol import ClientDelete, ClientUpdate, Delete, Update
from contacts.services import Write


@dataclass(frozen=True, slots=True)
class LocalWrite:
    """A client's Update or Delete, not yet stamped with the replica's clock."""

    user: bytes
    frame: ClientUpdate | ClientDelete


def apply_batch(replica_id, clock, ops):
    """What contacts.replica.Replica does with `ops`: stamp local writes, observe received clocks, store.

    Returns the stamped frames of the local writes and how many rows changed.
    """
    writes, stamped = [], []
    for op in ops:
        if isinstance(op, LocalWrite):
            if not clock.can_tick():
                clock.reserve(services.reserve_clock(replica_id, clock.value + 10))
            stamped.append(services.stamp(op.user, op.frame, clock))
            writes.append(Write(stamped[-1], True))
        else:
            clock.observe(op.clock)
            if isinstance(op, Update | Delete):
                writes.append(Write(op, False))
    return stamped, services.store_writes(replica_id, writes, clock.value, clock.reserved)
