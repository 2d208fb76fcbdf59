from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chatsite.core.names import MAX_KEY_LENGTH, MAX_NAME_LENGTH, name_key
from messaging.protocol import MAX_ROOM_NAME_LENGTH


def room_key(name):
    """The case-insensitive identity of a room, folded in Python so every engine agrees."""
    return name.strip().lower()


class RoomQuerySet(models.QuerySet):
    def named(self, name):
        # No room's name holds NUL, and PostgreSQL refuses the character in a query.
        if "\x00" in name:
            return self.none()
        return self.filter(key=room_key(name))


class Room(models.Model):
    """A chat room shared by both dialects; created by its first message or `createroom`."""

    # A lower-cased name can be longer than the name itself ("İ" → "i̇"), hence 200.
    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=MAX_ROOM_NAME_LENGTH, help_text="The first spelling the room was given.")
    created = models.DateTimeField(default=timezone.now)
    # Sequence of the newest message: the history cap deletes by range on (room, seq)
    # instead of counting or scanning the room's messages.
    last_seq = models.BigIntegerField(default=0, editable=False)

    objects = RoomQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.name


class Message(models.Model):
    """One chat message as stored in a room's history."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField(editable=False)
    sender = models.CharField(max_length=MAX_NAME_LENGTH)
    text = models.TextField()
    # NULL (no id given) differs from "" (an empty id given): both are echoed as sent.
    client_id = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True, help_text="The `id` the nane client gave."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [models.UniqueConstraint(fields=["room", "seq"], name="message_seq_unique_in_room")]

    def __str__(self):
        return f"{self.sender}: {self.text[:40]}"


class ChatSessionQuerySet(models.QuerySet):
    def holding_nickname(self, now=None):
        """Sessions whose nickname nobody else may take: live, or reserved and still claimable."""
        now = now or timezone.now()
        unexpired = Q(expires__isnull=True) | Q(expires__gt=now)
        return self.filter(unexpired, ended__isnull=True).filter(
            Q(connected__isnull=False, seen__gte=stale_cutoff(now))
            | Q(connected__isnull=True, issued__gt=connect_window_start(now))
        )

    def named(self, name):
        """Rows of this name in any spelling (`name_key`)."""
        return self.filter(key=name_key(name))

    def stale(self, now=None):
        """Unended sessions that no longer hold their nickname."""
        now = now or timezone.now()
        return self.filter(ended__isnull=True).exclude(pk__in=self.holding_nickname(now).values("pk"))


def connect_window_start(now):
    return now - timedelta(seconds=settings.AUTH_CONNECT_WINDOW)


def stale_cutoff(now):
    """The oldest heartbeat at which a connected session still holds its nickname."""
    return now - timedelta(seconds=settings.CHAT_SESSION_STALE_AFTER)


class Dialect(models.TextChoices):
    TOKEN = "token", "token"
    NANE = "nane", "nane"


class ChatSession(models.Model):
    """A name held in the chat, in either dialect: one speaker per name (`key`), across every node.

    A token-dialect row is one session: the nickname `/auth` reserved and, once connected,
    its room. A nane-dialect row is a username held by the sockets that connected with it
    in that exact spelling, on any node; each node's heartbeat keeps it (messaging/nane_names.py).
    """

    nickname = models.CharField(max_length=MAX_NAME_LENGTH, help_text="The name as its speaker spelled it.")
    key = models.CharField(max_length=MAX_KEY_LENGTH, editable=False, help_text="The name as compared (name_key).")
    dialect = models.CharField(max_length=5, choices=Dialect.choices, default=Dialect.TOKEN)
    issued = models.DateTimeField(default=timezone.now)
    # NULL for nane names, which are held as long as heartbeats come.
    expires = models.DateTimeField(null=True, blank=True)
    connected = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)
    # Refreshed by the consumer's heartbeat: a process that dies (SIGKILL, power) runs no
    # disconnect handler, so its sessions must stop counting on their own.
    seen = models.DateTimeField(null=True, blank=True, help_text="Last heartbeat of the connected socket.")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions")
    # Nane: how many nodes have sockets holding the name; the last node to let go ends the row.
    nodes = models.PositiveIntegerField(default=0, help_text="Nane: nodes whose sockets hold the name.")

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-issued"]
        constraints = [
            # The database, not a read-then-write, decides who gets a name, whatever the dialect.
            models.UniqueConstraint(fields=["key"], condition=Q(ended__isnull=True), name="one_unended_session_per_key")
        ]

    def __str__(self):
        return self.nickname

    def save(self, *args, **kwargs):
        self.key = name_key(self.nickname)
        super().save(*args, **kwargs)
