"""User, name and phone become the bytes sent on the wire (binary columns), rows kept.

A column type change would not do it portably: SQLite copies the text values unchanged
into the new table (text and blobs never compare equal there), and PostgreSQL's
`varchar::bytea` reads backslashes as escapes. So the text columns are renamed out of
the way, binary ones added, every row copied through Python as UTF-8, the text ones
dropped.
"""

from django.db import migrations, models

FIELDS = ("user", "name", "phone")


def text_to_bytes(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    rows = list(Contact.objects.using(schema_editor.connection.alias).all())
    for row in rows:
        for field in FIELDS:
            setattr(row, field, getattr(row, f"{field}_text").encode())
    Contact.objects.using(schema_editor.connection.alias).bulk_update(rows, FIELDS, batch_size=500)


def bytes_to_text(apps, schema_editor):
    # Back to text, undecodable bytes as U+FFFD: names that differed only there would collide.
    Contact = apps.get_model("contacts", "Contact")
    rows = list(Contact.objects.using(schema_editor.connection.alias).all())
    for row in rows:
        for field in FIELDS:
            setattr(row, f"{field}_text", bytes(getattr(row, field)).decode("utf-8", "replace"))
    Contact.objects.using(schema_editor.connection.alias).bulk_update(
        rows, [f"{field}_text" for field in FIELDS], batch_size=500
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="contact", name="contact_unique_per_replica"),
        migrations.RenameField(model_name="contact", old_name="user", new_name="user_text"),
        migrations.RenameField(model_name="contact", old_name="name", new_name="name_text"),
        migrations.RenameField(model_name="contact", old_name="phone", new_name="phone_text"),
        migrations.AddField(
            model_name="contact",
            name="user",
            field=models.BinaryField(default=b"", max_length=255),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="contact",
            name="name",
            field=models.BinaryField(default=b"", max_length=255),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="contact",
            name="phone",
            field=models.BinaryField(blank=True, default=b"", max_length=19),
        ),
        migrations.RunPython(text_to_bytes, bytes_to_text),
        migrations.RemoveField(model_name="contact", name="user_text"),
        migrations.RemoveField(model_name="contact", name="name_text"),
        migrations.RemoveField(model_name="contact", name="phone_text"),
        migrations.AddConstraint(
            model_name="contact",
            constraint=models.UniqueConstraint(fields=("replica", "user", "name"), name="contact_unique_per_replica"),
        ),
    ]
