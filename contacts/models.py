from datetime import timedelta

from django.db import models


def shown(value):
    """Stored bytes as text for people: UTF-8, with U+FFFD where the bytes are not valid UTF-8."""
    return bytes(value).decode("utf-8", "replace")


class Replica(models.Model):
    """One contacts server; its rows below are its own view, so replicas can share a database."""

    name = models.CharField(max_length=255, unique=True)
    clock = models.PositiveBigIntegerField(default=0, help_text="Lamport clock, saved with every write.")
    clock_reserved = models.PositiveBigIntegerField(
        default=0, help_text="Clock reserved ahead of use: no write was stamped past it, so a restart resumes here."
    )
    peers_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When this replica last heard from a peer (see CONTACTS_TOMBSTONE_TTL)."
    )
    alive_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the running replica last said so (at start and every heartbeat); cleared when it stops.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def is_alive(self, now, heartbeat_interval):
        """Running, as far as the database knows: it said so within three heartbeats."""
        return self.alive_at is not None and now - self.alive_at <= timedelta(seconds=3 * heartbeat_interval)


class ContactQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted=False)


class Contact(models.Model):
    """A replica's latest write for one (user, contact); a delete stays behind as a tombstone.

    User, name and phone are the bytes that came on the wire (contacts/protocol.py), in
    binary columns: any bytes round-trip, the unique key and ORDER BY compare bytes on
    SQLite and PostgreSQL alike (as Python compares `bytes`, so the database and the
    conflict rule agree), and no encoding trick sits between a row and the wire. Text
    columns would refuse what is not valid UTF-8, which the original's client sends.
    """

    # Not indexed on its own: the unique (replica, user, name) index starts with it and
    # serves every lookup by replica, and a second index cost each stored write one more
    # b-tree insert.
    replica = models.ForeignKey(Replica, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    user = models.BinaryField(max_length=255)
    name = models.BinaryField(max_length=255)
    phone = models.BinaryField(max_length=19, blank=True, default=b"")
    clock = models.PositiveBigIntegerField()
    deleted = models.BooleanField(default=False, help_text="A tombstone: keeps late older updates out.")
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When this replica stored the tombstone; purged after CONTACTS_TOMBSTONE_TTL."
    )

    objects = ContactQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["replica", "user", "name"], name="contact_unique_per_replica")]

    def __str__(self):
        return f"{shown(self.user)} → {shown(self.name)}{' (deleted)' if self.deleted else ''}"
