"""Every write of the name server: register, heartbeat, prune."""

from django.utils import timezone

from nameserver import store
from nameserver.models import Client, encode_entry_tail, ttl_cutoff


def register_client(*, ip, port, name, now=None):
    return Client.objects.create(ip=ip, port=port, name=name, connected=now or timezone.now())


def heartbeat(client_id, now=None):
    """Mark a live client alive now; False when the id is unknown or already expired.

    One conditional UPDATE, so a heartbeat racing the pruner or another heartbeat
    never resurrects an expired client and never loses its own write.
    """
    now = now or timezone.now()
    return store.heartbeat(client_id, now, ttl_cutoff(now), encode_entry_tail(now))


def live_clients_json(now=None):
    """The `GET /clients` map as JSON bytes: lowercase uuid → entry, expired clients left out."""
    return ("{" + ", ".join(store.live_entries(ttl_cutoff(now))) + "}").encode()


def prune_expired(now=None):
    """Delete every expired client in one query; returns how many went."""
    deleted, _ = Client.objects.expired(now).delete()
    return deleted
