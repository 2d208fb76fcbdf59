"""The pruning worker. In the project shell because it prunes every app's rows (chatsite/pruning.py);
the name is the one it had when it pruned the name server's alone, kept for existing process files."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from chatsite.core.database import clean_up
from chatsite.pruning import prune_all


class Command(BaseCommand):
    help = (
        "Every NAMESERVER_PRUNE_INTERVAL seconds, delete expired name-server clients and web nodes, and every "
        "other expired row (chat sessions, idle rooms, idle signaling users: chatsite/pruning.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Prune once and exit.")

    def handle(self, *args, once=False, verbosity=1, **options):
        self.verbosity = verbosity  # 0: say nothing about passes that pruned nothing
        if once:
            self.prune_once()
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        interval = settings.NAMESERVER_PRUNE_INTERVAL
        self.stdout.write(
            f"Pruning clients and nodes silent for over {settings.NAMESERVER_TTL}s, and other expired rows, "
            f"every {interval}s."
        )
        while not stop.is_set():
            clean_up()  # a long-lived process must not hold a dead connection
            try:
                self.prune_once()
            except DatabaseError as error:
                # A database restart or a long lock must not kill the worker; reads filter
                # on the TTL anyway, so a missed pass only delays reclaiming space.
                self.stderr.write(f"Prune failed, retrying in {interval}s: {error}")
            stop.wait(interval)
        self.stdout.write("Stopped.")

    def prune_once(self):
        pruned = sum(prune_all().values())
        # `make run` passes --verbosity 0: a line every 5 s would scroll its list of pages away.
        if pruned or self.verbosity:
            self.stdout.write(f"Pruned {pruned} expired {'entry' if pruned == 1 else 'entries'}.")
        return pruned
