"""Usernames are told apart by `name_key` (NFKC, case folded) instead of lower-casing (chatsite/core/names.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signaling", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="signalinguser",
            name="key",
            field=models.CharField(
                editable=False, help_text="The username as compared (name_key).", max_length=200, unique=True
            ),
        ),
    ]
