"""Key every user by `name_key`. Of users whose names are now one, the first registered keeps
the name; a later one keeps its row under a key no name can have (a space is not allowed in
usernames), so nothing is deleted, and its name now reaches the first one."""

from django.db import migrations

from chatsite.core.names import name_key


def rekey(apps, schema_editor):
    SignalingUser = apps.get_model("signaling", "SignalingUser")
    users = list(SignalingUser.objects.order_by("registered", "pk"))
    # Out of the way first, so that no new key collides with an old one still in place.
    for user in users:
        SignalingUser.objects.filter(pk=user.pk).update(key=f"rekeying {user.pk}")
    taken = set()
    for user in users:
        key = name_key(user.username)
        if key in taken:
            key = f"{key[:150]} (a lookalike of an older name, {user.pk})"
        taken.add(key)
        SignalingUser.objects.filter(pk=user.pk).update(key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("signaling", "0002_signalinguser_name_key"),
    ]

    operations = [
        migrations.RunPython(rekey, migrations.RunPython.noop),
    ]
