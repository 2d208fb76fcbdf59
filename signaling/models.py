from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from chatsite.core.names import MAX_KEY_LENGTH, MAX_NAME_LENGTH, name_key
from signaling.protocol import ClientError, clean_username


def stale_cutoff(now=None):
    """The oldest `seen` time at which an active connection still counts."""
    return (now or timezone.now()) - timedelta(seconds=settings.SIGNALING_STALE_AFTER)


def validate_username(value):
    """The registration rule, for forms such as the admin's."""
    try:
        clean_username(value)
    except ClientError as error:
        raise ValidationError(str(error))


def username_key(username):
    """The identity of a username (chatsite/core/names.py), computed in Python for every engine."""
    return name_key(username)


class SignalingUserQuerySet(models.QuerySet):
    def idle(self, now=None):
        """Users not seen for SIGNALING_USER_IDLE_TTL and not connected now: their names may go."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=settings.SIGNALING_USER_IDLE_TTL)
        return self.filter(seen__lt=cutoff).exclude(connection__seen__gte=stale_cutoff(now))

    def named(self, username):
        # No username holds NUL, and PostgreSQL refuses the character in a query.
        if "\x00" in username:
            return self.none()
        return self.filter(key=username_key(username))


class SignalingUser(models.Model):
    """A registered identity (the seed's UserStore)."""

    username = models.CharField(
        max_length=MAX_NAME_LENGTH, validators=[validate_username], help_text="As first spelled."
    )
    # Normalising can lengthen a name (NFKC, case folding), hence the room.
    key = models.CharField(
        max_length=MAX_KEY_LENGTH, unique=True, editable=False, help_text="The username as compared (name_key)."
    )
    registered = models.DateTimeField(default=timezone.now)
    # The name is freed after SIGNALING_USER_IDLE_TTL without a visit (chatsite/pruning.py).
    seen = models.DateTimeField(
        default=timezone.now, db_index=True, help_text="Last registered, asked who it is, or connected."
    )

    objects = SignalingUserQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        verbose_name = "signaling user"

    def __str__(self):
        return self.username

    def save(self, *args, **kwargs):
        self.key = username_key(self.username)
        super().save(*args, **kwargs)

    def clean(self):
        # `key` is not a form field, so the admin would not see a clash without this.
        clash = SignalingUser.objects.named(self.username).exclude(pk=self.pk)
        if clash.exists():
            raise ValidationError({"username": f"username {self.username} is taken"})


class ActiveConnectionQuerySet(models.QuerySet):
    def live(self, now=None):
        return self.filter(seen__gte=stale_cutoff(now))

    def stale(self, now=None):
        return self.filter(seen__lt=stale_cutoff(now))


class ActiveConnection(models.Model):
    """A user's one live `/v1/connect` socket (the seed's UserClientRegistry).

    The unique user makes "one live connection per user" hold across server processes:
    the database, not a check-then-insert, decides who holds a user.
    """

    user = models.OneToOneField(SignalingUser, on_delete=models.CASCADE, related_name="connection")
    channel_name = models.CharField(max_length=200, help_text="Where the channel layer reaches the consumer.")
    connected = models.DateTimeField(default=timezone.now)
    seen = models.DateTimeField(db_index=True, help_text="Last heartbeat of the socket's consumer.")

    objects = ActiveConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["connected"]

    def __str__(self):
        return f"{self.user} on {self.channel_name}"

    def is_live(self, now=None):
        return self.seen >= stale_cutoff(now)
