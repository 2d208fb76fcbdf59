"""One speaker per name across both dialects: sessions get the key they are told apart by (chatsite/core/names.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_chatsession_seen"),
    ]

    operations = [
        migrations.AddField(
            model_name="chatsession",
            name="key",
            field=models.CharField(
                default="", editable=False, help_text="The name as compared (name_key).", max_length=200
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="chatsession",
            name="dialect",
            field=models.CharField(choices=[("token", "token"), ("nane", "nane")], default="token", max_length=5),
        ),
        migrations.AddField(
            model_name="chatsession",
            name="nodes",
            field=models.PositiveIntegerField(default=0, help_text="Nane: nodes whose sockets hold the name."),
        ),
        migrations.AlterField(
            model_name="chatsession",
            name="expires",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="chatsession",
            name="nickname",
            field=models.CharField(help_text="The name as its speaker spelled it.", max_length=50),
        ),
    ]
