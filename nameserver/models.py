import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def ttl_cutoff(now=None):
    """The oldest `connected` time that still counts as live."""
    return (now or timezone.now()) - timedelta(seconds=settings.NAMESERVER_TTL)


class ClientQuerySet(models.QuerySet):
    def live(self, now=None):
        return self.filter(connected__gte=ttl_cutoff(now))

    def expired(self, now=None):
        return self.filter(connected__lt=ttl_cutoff(now))


class Client(models.Model):
    """A registered endpoint; live while it heartbeats within NAMESERVER_TTL."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ip = models.GenericIPAddressField("IP address", unpack_ipv4=False)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    name = models.CharField(max_length=140)
    connected = models.DateTimeField(db_index=True, help_text="Last registration or heartbeat.")

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["connected"]

    def __str__(self):
        return f"{self.name} ({self.ip}:{self.port})"

    def is_live(self, now=None):
        return self.connected >= ttl_cutoff(now)

    def as_entry(self):
        """The value of this client in the `GET /clients` map."""
        return {
            "ip": self.ip,
            "port": self.port,
            "connected": self.connected.isoformat(timespec="microseconds"),
            "name": self.name,
        }
