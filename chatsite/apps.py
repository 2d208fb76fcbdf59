import sys
from pathlib import Path

from django.apps import AppConfig


class ChatsiteConfig(AppConfig):
    """Project-wide pieces: management commands, and the daphne fixes runserver needs."""

    name = "chatsite"

    def ready(self):
        # Only in daphne's own processes: a daphne or autobahn upgrade must not stop
        # `manage.py uvicorn` or the workers, which never load them.
        if serves_with_daphne(sys.argv):
            from chatsite.server import daphne_fixes

            daphne_fixes.apply()


def serves_with_daphne(argv):
    """Whether this process is daphne's: `manage.py runserver` (daphne's), `daphne` or `python -m daphne`."""
    program = Path(argv[0]) if argv else Path()
    return argv[1:2] == ["runserver"] or program.name == "daphne" or program.parent.name == "daphne"
