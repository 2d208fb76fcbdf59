from django.apps import AppConfig


class ChatsiteConfig(AppConfig):
    """Project-wide pieces: management commands, and the daphne fixes runserver needs."""

    name = "chatsite"

    def ready(self):
        from chatsite import daphne_fixes

        daphne_fixes.apply()
