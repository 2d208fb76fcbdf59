"""The conflict rule and the clock, through the service functions the replica server runs."""

import itertools
import random
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.clock import ClockOutOfRange
from contacts.models import Contact, Replica
from contacts.protocol import ClientDelete, ClientUpdate, Delete, HeartBeat, Update, UpdateClock
from contacts.services import Write, list_contacts, open_replica, replica_snapshot, stamp, store_writes
from tests.contacts.batches import LEASE, LocalWrite, apply_batch

pytestmark = pytest.mark.django_db
_names = itertools.count()


def replica():
    model, clock = open_replica(f"replica-{next(_names)}", LEASE)
    return model.id, clock


def state(replica_id):
    rows = Contact.objects.filter(replica_id=replica_id)
    return {(row.user, row.name): (row.clock, row.deleted, row.phone) for row in rows}


def test_a_local_update_ticks_the_clock_and_is_stamped_with_it():
    replica_id, clock = replica()
    stamped, changed = apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(b"bob", b"123"))])
    assert stamped == [Update(1, b"ana", b"bob", b"123")]
    assert changed == 1
    assert list_contacts(replica_id, b"ana") == [(b"bob", b"123")]
    assert Replica.objects.get(id=replica_id).clock == 1


def test_a_clients_updates_in_one_batch_apply_in_order():
    replica_id, clock = replica()
    writes = [LocalWrite(b"ana", ClientUpdate(b"bob", str(n).encode())) for n in range(5)]
    writes.append(LocalWrite(b"ana", ClientDelete(b"bob")))
    writes.append(LocalWrite(b"ana", ClientUpdate(b"bob", b"last")))
    apply_batch(replica_id, clock, writes)
    assert list_contacts(replica_id, b"ana") == [(b"bob", b"last")]
    assert clock.value == 7


def test_a_received_clock_pulls_the_clock_forward_and_the_next_local_write_goes_past_it():
    replica_id, clock = replica()
    apply_batch(replica_id, clock, [HeartBeat(40), UpdateClock(7)])
    stamped, _ = apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(b"bob", b"1"))])
    assert stamped[0].clock == 41
    _, restarted = open_replica(Replica.objects.get(id=replica_id).name, LEASE)
    assert restarted.value >= 41, "a restart resumes past every clock the replica stamped"


def test_a_received_clock_past_the_limit_is_refused_and_the_frames_before_it_stand():
    replica_id, clock = replica()
    frames = [Update(7, b"ana", b"bob", b"1"), HeartBeat(clock.limit + 1), Update(9, b"ana", b"eve", b"2")]
    with pytest.raises(ClockOutOfRange, match="past this replica's limit"):
        apply_batch(replica_id, clock, frames)
    assert clock.value == 7
    assert list_contacts(replica_id, b"ana") == [(b"bob", b"1")]
    apply_batch(replica_id, clock, [UpdateClock(clock.limit)])  # the limit itself is a clock like any other
    assert clock.value == clock.limit


def test_an_older_update_does_not_bring_a_deleted_contact_back():
    replica_id, clock = replica()
    apply_batch(replica_id, clock, [Update(5, b"ana", b"bob", b"1"), Delete(9, b"ana", b"bob")])
    _, changed = apply_batch(replica_id, clock, [Update(8, b"ana", b"bob", b"2")])
    assert changed == 0
    assert list_contacts(replica_id, b"ana") == []
    assert replica_snapshot(replica_id) == [Delete(9, b"ana", b"bob")]


def test_a_write_received_again_changes_nothing_and_keeps_its_tombstones_age():
    # Every snapshot a peer sends repeats what this replica has; storing it again would
    # restart each tombstone's CONTACTS_TOMBSTONE_TTL, and none would ever be purged.
    replica_id, clock = replica()
    apply_batch(replica_id, clock, [Update(4, b"ana", b"bob", b"1"), Delete(5, b"ana", b"eve")])
    long_ago = timezone.now() - timedelta(days=3)
    Contact.objects.filter(replica_id=replica_id, name=b"eve").update(deleted_at=long_ago)
    _, changed = apply_batch(replica_id, clock, [Update(4, b"ana", b"bob", b"1"), Delete(5, b"ana", b"eve")])
    assert changed == 0
    assert Contact.objects.get(replica_id=replica_id, name=b"eve").deleted_at == long_ago


def test_at_equal_clocks_a_delete_beats_an_update_in_either_order():
    for frames in (
        [Update(3, b"ana", b"bob", b"9"), Delete(3, b"ana", b"bob")],
        [Delete(3, b"ana", b"bob"), Update(3, b"ana", b"bob", b"9")],
    ):
        replica_id, clock = replica()
        for frame in frames:
            apply_batch(replica_id, clock, [frame])
        assert state(replica_id) == {(b"ana", b"bob"): (3, True, b"")}


def test_at_equal_clocks_the_greater_phone_wins_in_either_order():
    for first, second in ((b"111", b"222"), (b"222", b"111")):
        replica_id, clock = replica()
        apply_batch(replica_id, clock, [Update(3, b"ana", b"bob", first)])
        apply_batch(replica_id, clock, [Update(3, b"ana", b"bob", second)])
        assert list_contacts(replica_id, b"ana") == [(b"bob", b"222")]


def test_a_newer_received_update_replaces_a_local_one():
    replica_id, clock = replica()
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(b"bob", b"mine"))])
    apply_batch(replica_id, clock, [Update(2, b"ana", b"bob", b"theirs")])
    assert list_contacts(replica_id, b"ana") == [(b"bob", b"theirs")]


def test_in_one_batch_a_local_write_beats_what_was_received_before_it_and_loses_to_newer_after_it():
    replica_id, clock = replica()
    stamped, _ = apply_batch(
        replica_id,
        clock,
        [Update(50, b"ana", b"bob", b"theirs"), LocalWrite(b"ana", ClientUpdate(b"bob", b"mine"))],
    )
    assert stamped[0].clock == 51
    assert state(replica_id) == {(b"ana", b"bob"): (51, False, b"mine")}
    apply_batch(
        replica_id,
        clock,
        [
            LocalWrite(b"ana", ClientUpdate(b"bob", b"mine again")),
            Delete(90, b"ana", b"bob"),
            Update(60, b"ana", b"bob", b"late"),
        ],
    )
    assert state(replica_id)[(b"ana", b"bob")][:2] == (90, True)


def test_list_all_is_sorted_by_contact_name_and_leaves_out_tombstones_and_other_users():
    replica_id, clock = replica()
    writes = [LocalWrite(b"ana", ClientUpdate(name, b"1")) for name in (b"zoe", "Émile".encode(), b"bob", b"al")]
    writes += [LocalWrite(b"ana", ClientDelete(b"bob")), LocalWrite(b"eve", ClientUpdate(b"x", b"2"))]
    apply_batch(replica_id, clock, writes)
    assert list_contacts(replica_id, b"ana") == [(b"al", b"1"), (b"zoe", b"1"), ("Émile".encode(), b"1")]


def test_a_failed_store_changes_nothing_and_the_same_writes_store_when_tried_again(monkeypatch):
    replica_id, clock = replica()
    apply_batch(replica_id, clock, [LocalWrite(b"ana", ClientUpdate(b"bob", b"1"))])
    writes = [Write(Update(2, b"ana", b"bob", b"2"), local=True)]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("contacts.services.upsert_contacts", broken)
    with pytest.raises(OSError, match="disk full"):
        store_writes(replica_id, writes, clock=2, reserved=clock.reserved + 100)
    monkeypatch.undo()
    assert list_contacts(replica_id, b"ana") == [(b"bob", b"1")]
    assert Replica.objects.get(id=replica_id).clock == 1
    store_writes(replica_id, writes, clock=2, reserved=clock.reserved + 100)
    assert list_contacts(replica_id, b"ana") == [(b"bob", b"2")]
    assert Replica.objects.get(id=replica_id).clock == 2


def test_a_restarted_clock_resumes_past_every_clock_stamped_even_if_unstored():
    model, clock = open_replica(f"replica-{next(_names)}", clock_lease=50)
    stamped = [stamp(b"ana", ClientUpdate(b"bob", str(n).encode()), clock) for n in range(30)]
    assert clock.value == 30  # sent to peers, say, and then the process died before storing them
    _, restarted = open_replica(model.name, clock_lease=50)
    assert restarted.value > max(frame.clock for frame in stamped)
    while clock.can_tick():
        clock.tick()
    assert clock.value == 50, "no write is stamped past the reservation"
    with pytest.raises(RuntimeError, match="reservation"):
        clock.tick()


writes = st.lists(
    st.tuples(
        st.integers(0, 2),  # origin replica
        st.sampled_from([b"bob", b"eve"]),
        st.one_of(st.none(), st.sampled_from([b"1", b"2", b"3"])),  # None is a delete
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=writes, seed=st.integers(0, 2**16))
def test_replicas_converge_whatever_order_the_writes_arrive_in(db, writes, seed):
    """Each replica makes its local writes, then receives the others' in a random order and batching."""
    replicas = [replica() for _ in range(3)]
    shuffle = random.Random(seed)
    sent = []
    for origin, contact, phone in writes:
        replica_id, clock = replicas[origin]
        frame = ClientDelete(contact) if phone is None else ClientUpdate(contact, phone)
        if shuffle.random() < 0.5 and sent:  # sometimes a replica hears a write before making its own
            apply_batch(replica_id, clock, [shuffle.choice(sent)[1]])
        stamped, _ = apply_batch(replica_id, clock, [LocalWrite(b"ana", frame)])
        sent.append((origin, stamped[0]))
    for index, (replica_id, clock) in enumerate(replicas):
        incoming = [frame for origin, frame in sent if origin != index]
        shuffle.shuffle(incoming)
        while incoming:
            size = shuffle.randint(1, len(incoming))
            apply_batch(replica_id, clock, incoming[:size])
            incoming = incoming[size:]
    states = [state(replica_id) for replica_id, _ in replicas]
    assert states[0] == states[1] == states[2]


def test_a_received_batch_past_postgresqls_parameter_cap_is_checked_against_every_stored_row():
    # 66,000 contact names: more parameters than PostgreSQL binds in one statement (65,535).
    replica_id, clock = replica()
    names = [f"contact-{n}".encode() for n in range(66_000)]
    apply_batch(replica_id, clock, [Update(5, b"ana", name, b"new") for name in names])
    _, changed = apply_batch(replica_id, clock, [Update(3, b"ana", name, b"old") for name in names])
    assert changed == 0, "every older write lost to the stored row"
    assert set(list_contacts(replica_id, b"ana")) == {(name, b"new") for name in names}
