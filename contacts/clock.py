"""Lamport clock and the last-writer-wins order that every replica applies the same way."""

from dataclasses import dataclass

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
    def of_update(cls, clock, phone):
        return cls(clock, UPDATE_RANK, phone)

    @classmethod
    def of_delete(cls, clock):
        return cls(clock, DELETE_RANK, b"")


class LamportClock:
    """A replica's logical time: local writes tick it, received clocks pull it forward."""

    def __init__(self, value=0):
        self.value = value

    def tick(self):
        self.value += 1
        return self.value

    def observe(self, clock):
        if clock > self.value:
            self.value = clock
        return self.value
