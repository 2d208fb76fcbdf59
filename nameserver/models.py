import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# A registration's name has at most this many characters (the API's rule and the column).
MAX_NAME_LENGTH = 140


def ttl_cutoff(now=None):
    """The oldest `connected` time that still counts as live."""
    return (now or timezone.now()) - timedelta(seconds=settings.NAMESERVER_TTL)


class RegistrationQuerySet(models.QuerySet):
    def expired(self, now=None):
        return self.filter(connected__lt=ttl_cutoff(now))

    def live(self, now=None):
        return self.filter(connected__gte=ttl_cutoff(now))


class Registration(models.Model):
    """A registered endpoint; live while it heartbeats within NAMESERVER_TTL."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ip = models.GenericIPAddressField("IP address", unpack_ipv4=False)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    name = models.CharField(max_length=MAX_NAME_LENGTH)
    # Not indexed: every heartbeat moves `connected`, and an index on it cost each one a
    # second b-tree update (and, on PostgreSQL, the cheap in-place HOT update). What an
    # index would speed up, the pruner's DELETE, scans a table of live clients once a second.
    connected = models.DateTimeField(help_text="Last registration or heartbeat.")
    # `GET /clients` is read far more often than a client changes, and turning rows into
    # JSON was most of a read (bench/README.md, "What made it faster"). So each row keeps
    # its member of that map encoded: `entry_head` at every save, `entry` also at every
    # heartbeat (one UPDATE).
    entry_head = models.TextField(editable=False)
    entry = models.TextField(editable=False)

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["connected"]

    def __str__(self):
        return f"{self.name} ({self.ip}:{self.port})"

    def save(self, *args, **kwargs):
        self.entry_head = encode_entry_head(self.id, self.ip, self.port, self.name)
        self.entry = self.entry_head + encode_entry_tail(self.connected)
        super().save(*args, **kwargs)

    def is_live(self, now=None):
        return self.connected >= ttl_cutoff(now)


class Client(Registration):
    """A client of the name server: `GET /clients` lists it to every other client as a peer."""


class Node(Registration):
    """A web node of this project, listed at `GET /nodes`.

    Not a client: the Go chat clients treat every entry of `GET /clients` as a chat peer,
    and would write their chat into a node's HTTP port.
    """


def encode_entry_head(id, ip, port, name):
    """`"<id>": {"ip": …, "port": …, "name": …, "connected": ` of one member of the map."""
    return f'{json.dumps(str(id))}: {{"ip": {json.dumps(ip)}, "port": {port}, "name": {json.dumps(name)}, "connected": '


def encode_entry_tail(connected):
    return f'"{connected.isoformat(timespec="microseconds")}"}}'
