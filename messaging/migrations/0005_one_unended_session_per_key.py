"""Sessions are unique by key, not by spelling: `Bob` and `bob` are one name."""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_fill_chatsession_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="chatsession",
            name="one_unended_session_per_nickname",
        ),
        migrations.AddConstraint(
            model_name="chatsession",
            constraint=models.UniqueConstraint(
                condition=Q(ended__isnull=True), fields=("key",), name="one_unended_session_per_key"
            ),
        ),
    ]
