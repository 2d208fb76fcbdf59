from django.db import models

from contacts.clock import Version


class Replica(models.Model):
    """One contacts server; its rows below are its own view, so replicas can share a database."""

    name = models.CharField(max_length=255, unique=True)
    clock = models.PositiveBigIntegerField(default=0, help_text="Lamport clock, saved with every write.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ContactQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted=False)


class Contact(models.Model):
    """A replica's latest write for one (user, contact); a delete stays behind as a tombstone."""

    replica = models.ForeignKey(Replica, on_delete=models.CASCADE, related_name="contacts")
    user = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    phone = models.CharField(max_length=19, blank=True)
    clock = models.PositiveBigIntegerField()
    deleted = models.BooleanField(default=False, help_text="A tombstone: keeps late older updates out.")

    objects = ContactQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["replica", "user", "name"], name="contact_unique_per_replica")]

    def __str__(self):
        return f"{self.user} → {self.name}{' (deleted)' if self.deleted else ''}"

    @property
    def version(self):
        return Version.of_delete(self.clock) if self.deleted else Version.of_update(self.clock, self.phone)
