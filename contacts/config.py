"""What a replica runs with: every CONTACTS_* setting it uses, read from Django's settings here only.

The defaults are the settings' (chatsite/settings.py, docs/configuration.md). `Replica`
and `ReplicaServer` take a `ReplicaConfig` and have no defaults of their own; a test
that needs other values names them in `from_settings(**overrides)`.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    heartbeat_interval: float  # seconds between HeartBeats on each peer link
    read_timeout: float  # seconds a handshake or a started frame may take
    redial_min: float  # backoff between redials of a peer, from…
    redial_max: float  # …to
    batch_size: int  # most writes stored in one transaction
    queue_size: int  # writes waiting for the database before readers are paused
    peer_buffer_limit: int  # bytes queued to a peer that does not read before its link is dropped
    store_retry_interval: float  # seconds before a refused batch is tried again
    clock_lease: int  # clock ticks reserved ahead of use
    tombstone_ttl: timedelta  # how long a tombstone is kept
    purge_interval: float  # seconds between purges of old tombstones
    peer_secret: bytes  # the cluster's shared secret; empty: peers are told by address only
    peer_proof_window: float  # seconds a peer's proof may be from this replica's time

    @classmethod
    def from_settings(cls, **overrides):
        """The configuration the settings give, with `overrides` in place of some of it."""
        return cls(
            **{
                "heartbeat_interval": settings.CONTACTS_HEARTBEAT_INTERVAL,
                "read_timeout": settings.CONTACTS_READ_TIMEOUT,
                "redial_min": settings.CONTACTS_REDIAL_MIN,
                "redial_max": settings.CONTACTS_REDIAL_MAX,
                "batch_size": settings.CONTACTS_BATCH_SIZE,
                "queue_size": settings.CONTACTS_QUEUE_SIZE,
                "peer_buffer_limit": settings.CONTACTS_PEER_BUFFER_LIMIT,
                "store_retry_interval": settings.CONTACTS_STORE_RETRY_INTERVAL,
                "clock_lease": settings.CONTACTS_CLOCK_LEASE,
                "tombstone_ttl": timedelta(seconds=settings.CONTACTS_TOMBSTONE_TTL),
                "purge_interval": settings.CONTACTS_TOMBSTONE_PURGE_INTERVAL,
                "peer_secret": settings.CONTACTS_PEER_SECRET.encode(),
                "peer_proof_window": settings.CONTACTS_PEER_PROOF_WINDOW,
                **overrides,
            }
        )
