"""Every write of the name server: register, heartbeat, prune, for clients and web nodes alike."""

import uuid
from datetime import datetime

from django.utils import timezone

from nameserver import store
from nameserver.models import Client, Node, Registration, encode_entry_tail, ttl_cutoff

REGISTRIES = (Client, Node)


def register(
    registry: type[Registration], *, ip: str, port: int, name: str, now: datetime | None = None
) -> Registration:
    return registry.objects.create(ip=ip, port=port, name=name, connected=now or timezone.now())


def heartbeat(registry: type[Registration], key: uuid.UUID, now: datetime | None = None) -> bytes | None:
    """Mark a live entry alive now and return `live_json` after it; None when the id is unknown or already expired.

    One conditional UPDATE, so a heartbeat racing the pruner or another heartbeat
    never resurrects an expired entry and never loses its own write.
    """
    now = now or timezone.now()
    cutoff = ttl_cutoff(now)
    entries = store.heartbeat(registry, key, now, cutoff, encode_entry_tail(now))
    return None if entries is None else live_document(entries)


def live_json(registry: type[Registration], now: datetime | None = None) -> bytes:
    """The `GET /clients` (or `/nodes`) map as JSON bytes: lowercase uuid → entry, expired ones left out."""
    return live_document(store.live_entries(registry, ttl_cutoff(now)))


def live_document(entries: list[str]) -> bytes:
    return ("{" + ", ".join(entries) + "}").encode()


def live_client_count(now: datetime | None = None) -> int:
    """How many clients `GET /clients` lists now (for the metrics)."""
    return Client.objects.live(now).count()


def prune_expired(now: datetime | None = None) -> int:
    """Delete every expired client and node, one query each; returns how many went."""
    return sum(registry.objects.expired(now).delete()[0] for registry in REGISTRIES)
