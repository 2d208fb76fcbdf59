"""Tombstones are purged after CONTACTS_TOMBSTONE_TTL, and a replica away longer than that must rejoin empty."""

import asyncio
import itertools
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from contacts.config import ReplicaConfig
from contacts.models import Contact, Replica
from contacts.protocol import AskForUpdate, ClientDelete, ClientUpdate, Delete, Update
from contacts.replica import Replica as LiveReplica
from contacts.services import StaleReplica, check_rejoin, empty_replica, open_replica, purge_tombstones
from tests.contacts.batches import LEASE, LocalWrite, apply_batch
from tests.contacts.conftest import RawConnection, eventually
from tests.contacts.test_peer_protocol import frames_until, heartbeat_after

TTL = timedelta(days=10)
_names = itertools.count()


def replica_with(*writes):
    model, clock = open_replica(f"tombstones-{next(_names)}", LEASE)
    apply_batch(model.id, clock, [LocalWrite(b"ana", frame) for frame in writes])
    return model


def stored_ago(model, contact, age):
    Contact.objects.filter(replica=model, name=contact).update(deleted_at=timezone.now() - age)


@pytest.mark.django_db
def test_a_tombstone_older_than_the_ttl_is_purged_and_newer_ones_and_contacts_stay():
    model = replica_with(
        ClientUpdate(b"old", b"1"),
        ClientDelete(b"old"),
        ClientUpdate(b"new", b"1"),
        ClientDelete(b"new"),
        ClientUpdate(b"kept", b"2"),
    )
    stored_ago(model, b"old", TTL + timedelta(hours=1))
    stored_ago(model, b"new", TTL - timedelta(hours=1))

    assert purge_tombstones(model.id, timezone.now() - TTL) == 1
    rows = dict(Contact.objects.filter(replica=model).values_list("name", "deleted"))
    assert {bytes(name): deleted for name, deleted in rows.items()} == {b"new": True, b"kept": False}


@pytest.mark.django_db
def test_a_replica_with_contacts_away_from_its_peers_longer_than_the_ttl_is_refused():
    model = replica_with(ClientUpdate(b"bob", b"1"))
    Replica.objects.filter(id=model.id).update(peers_seen_at=timezone.now() - TTL - timedelta(minutes=1))
    with pytest.raises(StaleReplica, match="--rejoin-empty"):
        check_rejoin(Replica.objects.get(id=model.id), timezone.now(), TTL)


@pytest.mark.django_db
def test_a_replica_away_less_than_the_ttl_or_never_linked_or_empty_may_rejoin():
    model = replica_with(ClientUpdate(b"bob", b"1"))
    check_rejoin(Replica.objects.get(id=model.id), timezone.now(), TTL)  # never heard from peers: a new replica
    Replica.objects.filter(id=model.id).update(peers_seen_at=timezone.now() - TTL + timedelta(minutes=1))
    check_rejoin(Replica.objects.get(id=model.id), timezone.now(), TTL)
    empty = replica_with()
    Replica.objects.filter(id=empty.id).update(peers_seen_at=timezone.now() - 2 * TTL)
    check_rejoin(Replica.objects.get(id=empty.id), timezone.now(), TTL)


@pytest.mark.django_db
def test_emptying_a_replica_drops_its_contacts_and_keeps_its_clock():
    model = replica_with(ClientUpdate(b"bob", b"1"), ClientDelete(b"bob"), ClientUpdate(b"eve", b"1"))
    Replica.objects.filter(id=model.id).update(peers_seen_at=timezone.now() - 2 * TTL)
    empty_replica(model.name)
    assert not Contact.objects.filter(replica=model).exists()
    assert open_replica(model.name, LEASE)[1].value >= 3, "its next writes still go past the clocks it sent"
    check_rejoin(Replica.objects.get(id=model.id), timezone.now(), TTL)


@pytest.mark.django_db(transaction=True)
def test_contact_replica_refuses_to_start_a_stale_replica_and_says_what_to_do(settings):
    model = replica_with(ClientUpdate(b"bob", b"1"))
    Replica.objects.filter(id=model.id).update(peers_seen_at=timezone.now() - TTL - timedelta(days=1))
    with pytest.raises(CommandError, match=r"CONTACTS_TOMBSTONE_TTL .* --rejoin-empty"):
        call_command("contact_replica", "--name", model.name, "--listen", "127.0.0.1:0")
    assert Contact.objects.filter(replica=model).exists(), "nothing was dropped without being asked"


def test_a_running_replica_purges_a_tombstone_once_the_ttl_has_passed(cluster):
    replica = cluster.replica(CONTACTS_TOMBSTONE_TTL=0.5, CONTACTS_TOMBSTONE_PURGE_INTERVAL=0.1)
    with replica.client("ana") as client:
        client.update("anchor", "1")
        client.update("bob", "2")
        client.delete("bob")
        client.list_all()

    def snapshot():
        peer = RawConnection.peer(replica.port)
        try:
            peer.sock.sendall(AskForUpdate().encode())
            return frames_until(peer, heartbeat_after(Update(1, b"ana", b"anchor", b"1")))
        finally:
            peer.close()

    frames = eventually(snapshot, done=lambda frames: Delete(3, b"ana", b"bob") not in frames)
    assert Update(1, b"ana", b"anchor", b"1") in frames
    assert replica.list_all(b"ana") == [(b"anchor", b"1")]


@pytest.mark.django_db(transaction=True)  # the replica reads and writes from threads of its own
def test_a_replica_purges_only_the_tombstones_older_than_its_ttl():
    model = replica_with(ClientUpdate(b"old", b"1"), ClientDelete(b"old"), ClientUpdate(b"young", b"1"))
    apply_batch(model.id, open_replica(model.name, LEASE)[1], [LocalWrite(b"ana", ClientDelete(b"young"))])
    stored_ago(model, b"old", TTL + timedelta(hours=1))
    stored_ago(model, b"young", TTL - timedelta(hours=1))

    async def purge():
        replica = await LiveReplica(model.name, ReplicaConfig.from_settings(tombstone_ttl=TTL)).open()
        try:
            return await replica.purge_tombstones()
        finally:
            await replica.close()

    assert asyncio.run(purge()) == 1
    assert [bytes(name) for name in Contact.objects.filter(replica=model).values_list("name", flat=True)] == [b"young"]
