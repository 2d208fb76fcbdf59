"""Key every session; the data step alone, so that PostgreSQL runs it in a transaction of its own."""

from django.db import migrations
from django.utils import timezone

from chatsite.core.names import name_key


def fill_keys(apps, schema_editor):
    """Key every row; of unended rows whose names are now one, the newest keeps the name."""
    ChatSession = apps.get_model("messaging", "ChatSession")
    now = timezone.now()
    holders = set()
    for session in ChatSession.objects.order_by("-issued", "-pk").iterator():
        session.key = name_key(session.nickname)
        fields = ["key"]
        if session.ended is None:
            if session.key in holders:
                session.ended = now
                fields.append("ended")
            holders.add(session.key)
        session.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_chatsession_name_key"),
    ]

    operations = [
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
    ]
