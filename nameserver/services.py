"""Every write of the name server: register, heartbeat, prune."""

from django.utils import timezone

from nameserver.models import Client


def register_client(*, ip, port, name, now=None):
    return Client.objects.create(ip=ip, port=port, name=name, connected=now or timezone.now())


def heartbeat(client_id, now=None):
    """Mark a live client alive now; False when the id is unknown or already expired.

    One conditional UPDATE, so a heartbeat racing the pruner or another heartbeat
    never resurrects an expired client and never loses its own write.
    """
    now = now or timezone.now()
    return Client.objects.live(now).filter(id=client_id).update(connected=now) == 1


def live_clients(now=None):
    """The `GET /clients` map: lowercase uuid → entry, expired clients left out."""
    fields = ("id", "ip", "port", "name", "connected")
    return {str(client.id): client.as_entry() for client in Client.objects.live(now).only(*fields)}


def prune_expired(now=None):
    """Delete every expired client in one query; returns how many went."""
    deleted, _ = Client.objects.expired(now).delete()
    return deleted
