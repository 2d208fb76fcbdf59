"""The clock reserved ahead of use; tombstones get the time they were stored, so they can be purged after CONTACTS_TOMBSTONE_TTL.

Tombstones already stored count from the migration: they are kept a whole TTL from now.
"""

from django.db import migrations, models
from django.utils import timezone


def date_existing_tombstones(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    Contact.objects.using(schema_editor.connection.alias).filter(deleted=True).update(deleted_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_bytes_as_sent")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="deleted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When this replica stored the tombstone; purged after CONTACTS_TOMBSTONE_TTL.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="replica",
            name="peers_seen_at",
            field=models.DateTimeField(
                blank=True, help_text="When this replica last heard from a peer (see CONTACTS_TOMBSTONE_TTL).", null=True
            ),
        ),
        migrations.AddField(
            model_name="replica",
            name="clock_reserved",
            field=models.PositiveBigIntegerField(
                default=0, help_text="Clock reserved ahead of use: no write was stamped past it, so a restart resumes here."
            ),
        ),
        migrations.RunPython(date_existing_tombstones, migrations.RunPython.noop),
    ]
