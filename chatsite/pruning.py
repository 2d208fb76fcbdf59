"""What the pruning worker (`manage.py nameserver_worker`) deletes on every pass: each app's expired rows.

Every table that users can grow expires: name-server clients and web nodes
(NAMESERVER_TTL), chat sessions that no longer hold a nickname and idle rooms
(CHAT_ROOM_IDLE_TTL), signaling users idle for SIGNALING_USER_IDLE_TTL. Each app owns its
rule in its services; this list is the one place that names them all.
"""

from django.utils.module_loading import import_string

PRUNERS = [
    "nameserver.services.prune_expired",
    "messaging.services.prune_expired",
    "signaling.services.prune_expired",
]


def prune_all(now=None):
    """Run every app's pruning once; returns how many rows went, by app."""
    return {path.split(".")[0]: import_string(path)(now) for path in PRUNERS}
