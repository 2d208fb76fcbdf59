"""Every write of signaling: register, claim and release a connection, heartbeat, kick."""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from signaling.ice import IceSettings
from signaling.models import ActiveConnection, SignalingUser, username_key

logger = logging.getLogger(__name__)


class UsernameTaken(Exception):
    """Someone registered this username already (case ignored)."""


def register_user(username: str) -> SignalingUser:
    """Store a new user; UsernameTaken when the name, in any letter case, is held."""
    try:
        with transaction.atomic():
            return SignalingUser.objects.create(username=username)
    except IntegrityError:
        raise UsernameTaken(username)


def find_user(username: str) -> SignalingUser | None:
    return SignalingUser.objects.named(username).first()


def user_of(identity: tuple[int, str] | None) -> SignalingUser | None:
    """The registered user an identity cookie names, noting the visit; None if it is gone (or never was)."""
    if identity is None:
        return None
    user_id, username = identity
    user = SignalingUser.objects.filter(pk=user_id, key=username_key(username)).first()
    if user is not None:
        SignalingUser.objects.filter(pk=user.pk).update(seen=timezone.now())
    return user


def prune_expired(now: datetime | None = None) -> int:
    """Free the names of users idle for SIGNALING_USER_IDLE_TTL; returns how many went."""
    return SignalingUser.objects.idle(now).delete()[1].get(SignalingUser._meta.label, 0)


def ice_configuration(user: SignalingUser, now: datetime | None = None) -> dict[str, Any]:
    """The ICE servers `user`'s calls use, TURN ones with a credential that names the user and expires."""
    now = now or timezone.now()
    ice = IceSettings(
        urls=tuple(settings.SIGNALING_ICE_SERVERS),
        turn_secret=settings.SIGNALING_TURN_SECRET,
        credential_ttl=settings.SIGNALING_TURN_CREDENTIAL_TTL,
        transport_policy=settings.SIGNALING_ICE_TRANSPORT_POLICY,
    )
    return ice.configuration(user.username, now.timestamp())


def claim_connection(user: SignalingUser, channel_name: str, now: datetime | None = None) -> ActiveConnection | None:
    """Make `channel_name` the user's one active connection; None when a live one holds it.

    A stale row (its process stopped heartbeating) is deleted first, in the same
    transaction; the unique user column then lets exactly one of any racing claims in.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            ActiveConnection.objects.stale(now).filter(user=user).delete()
            return ActiveConnection.objects.create(user=user, channel_name=channel_name, connected=now, seen=now)
    except IntegrityError:
        return None


def refresh_connection(user_id: int, channel_name: str, now: datetime | None = None) -> bool:
    """Heartbeat: mark this socket's row seen now; False when the row is gone (kicked or replaced)."""
    now = now or timezone.now()
    return ActiveConnection.objects.filter(user_id=user_id, channel_name=channel_name).update(seen=now) == 1


def release_connection(user_id: int, channel_name: str) -> None:
    """Forget this socket's row, never a newer connection of the same user; the user was seen until now."""
    ActiveConnection.objects.filter(user_id=user_id, channel_name=channel_name).delete()
    SignalingUser.objects.filter(pk=user_id).update(seen=timezone.now())


def live_channel_name(username: str, now: datetime | None = None) -> str | None:
    """Where a connected user is reached, or None when the user is not online."""
    if "\x00" in username:
        return None  # nobody's name holds NUL, and PostgreSQL refuses it in a query
    return (
        ActiveConnection.objects.live(now)
        .filter(user__key=username_key(username))
        .values_list("channel_name", flat=True)
        .first()
    )


def online_usernames(now: datetime | None = None) -> list[str]:
    return list(ActiveConnection.objects.live(now).order_by("user__key").values_list("user__username", flat=True))


def active_user_count(now: datetime | None = None) -> int:
    """How many users hold a live connection (for the metrics)."""
    return ActiveConnection.objects.live(now).count()


def kick_connections(connections: QuerySet[ActiveConnection] | None = None) -> int:
    """Delete active connections (all by default) and close their sockets; returns how many.

    The KICKED events go out after commit, so a kicked consumer never finds its row still there.
    """
    queryset = ActiveConnection.objects.all() if connections is None else connections
    with transaction.atomic():
        rows = dict(queryset.select_for_update().values_list("pk", "channel_name"))
        ActiveConnection.objects.filter(pk__in=rows).delete()
        channel_names = list(rows.values())
        transaction.on_commit(lambda: _send_kicks(channel_names))
    return len(channel_names)


def _send_kicks(channel_names: Iterable[str]) -> None:
    layer = get_channel_layer()
    for channel_name in channel_names:
        try:
            async_to_sync(layer.send)(channel_name, {"type": "signaling.kick"})
        except ChannelFull:
            # A consumer that stopped reading has gone or will go stale; the others still get theirs.
            logger.warning("Could not kick %s: its channel is full", channel_name)
