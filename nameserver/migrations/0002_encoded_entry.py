from django.db import migrations, models

from nameserver.models import encode_entry_head, encode_entry_tail


def encode_existing(apps, schema_editor):
    for client in apps.get_model("nameserver", "Client").objects.all():
        client.entry_head = encode_entry_head(client.id, client.ip, client.port, client.name)
        client.entry = client.entry_head + encode_entry_tail(client.connected)
        client.save(update_fields=["entry_head", "entry"])


class Migration(migrations.Migration):
    dependencies = [("nameserver", "0001_initial")]

    operations = [
        migrations.AddField("client", "entry_head", models.TextField(default="", editable=False), preserve_default=False),
        migrations.AddField("client", "entry", models.TextField(default="", editable=False), preserve_default=False),
        migrations.RunPython(encode_existing, migrations.RunPython.noop),
    ]
