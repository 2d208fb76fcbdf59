"""A replica whose stored clock went past the limit is refused at start, and --reset-clock repairs it."""

import itertools

import pytest
from django.core.management import CommandError, call_command

from contacts.clock import clock_limit
from contacts.models import Contact, Replica
from contacts.protocol import ClientUpdate
from contacts.services import ClockPastLimit, list_contacts, open_replica, replica_snapshot, reset_clock
from tests.contacts.batches import LEASE, LocalWrite, apply_batch

pytestmark = pytest.mark.django_db
LIMIT = clock_limit(10000)
_names = itertools.count()


def poisoned_replica():
    """A replica as the poisoning frame left it: clock and reservation past 2**32, two writes stamped past the limit."""
    model, clock = open_replica(f"poisoned-{next(_names)}", LEASE)
    apply_batch(model.id, clock, [LocalWrite(b"ana", ClientUpdate(b"old", b"1"))])
    rows = [
        Contact(replica=model, user=b"ana", name=b"pinned", phone=b"666", clock=2**32 - 1),
        Contact(replica=model, user=b"ana", name=b"after", phone=b"2", clock=2**32 + 1),
    ]
    Contact.objects.bulk_create(rows)
    Replica.objects.filter(id=model.id).update(clock=2**32 + 1, clock_reserved=2**32 + 10001)
    return model


@pytest.mark.django_db(transaction=True)  # the command reads the database from threads of its own
def test_a_replica_with_a_clock_past_the_limit_is_refused_at_start_and_told_how_to_repair_it():
    model = poisoned_replica()
    with pytest.raises(ClockPastLimit, match="--reset-clock"):
        open_replica(model.name, LEASE)
    with pytest.raises(CommandError, match="--reset-clock"):
        call_command("contact_replica", "--name", model.name, "--listen", "127.0.0.1:0")
    assert Contact.objects.filter(replica=model).count() == 3, "nothing was changed without being asked"


def test_reset_clock_restamps_the_writes_past_the_limit_in_order_and_keeps_them():
    model = poisoned_replica()
    assert reset_clock(model.name, LEASE) == (2, 3)
    _, clock = open_replica(model.name, LEASE)
    assert clock.value == 3
    snapshot = sorted((frame.clock, frame.contact) for frame in replica_snapshot(model.id))
    assert snapshot == [(1, b"old"), (2, b"pinned"), (3, b"after")]
    assert list_contacts(model.id, b"ana") == [(b"after", b"2"), (b"old", b"1"), (b"pinned", b"666")]


def test_after_the_reset_a_write_beats_what_was_pinned():
    model = poisoned_replica()
    reset_clock(model.name, LEASE)
    _, clock = open_replica(model.name, LEASE)
    apply_batch(model.id, clock, [LocalWrite(b"ana", ClientUpdate(b"pinned", b"mine"))])
    assert dict(list_contacts(model.id, b"ana"))[b"pinned"] == b"mine"


def test_reset_clock_leaves_a_healthy_replica_as_it_is():
    model, clock = open_replica(f"healthy-{next(_names)}", LEASE)
    apply_batch(model.id, clock, [LocalWrite(b"ana", ClientUpdate(b"bob", b"1"))])
    assert reset_clock(model.name, LEASE)[0] == 0
    assert open_replica(model.name, LEASE)[1].value >= 1
    assert list_contacts(model.id, b"ana") == [(b"bob", b"1")]
    assert clock.limit == LIMIT
