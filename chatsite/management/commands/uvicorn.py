"""`manage.py uvicorn`: the web process of `make run`. How it serves is chatsite/server/uvicorn_server.py."""

import signal
import sys

from channels.routing import get_default_application
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from chatsite.server.uvicorn_server import shared_port_socket, web_server
from chatsite.server.versions import check_uvicorn_version
from chatsite.server.web_workers import WebWorkers
from nameserver.announce import start_node_announcer


class Command(BaseCommand):
    help = (
        "Serve the whole ASGI application with uvicorn on uvloop and httptools, and the project's "
        "WebSocket protocol (chatsite/server/websocket_protocol.py): the web process of `make run`. "
        "`runserver` (daphne, autoreload) is for development. WEB_WORKERS=N (with REDIS_URL) "
        "runs N worker processes on the one port."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="ip:port to listen on")
        parser.add_argument(
            "--reuse-port",
            action="store_true",
            help="Listen with SO_REUSEPORT, beside other processes on the port (how WEB_WORKERS runs its workers).",
        )

    def handle(self, *args, addrport, reuse_port, **options):
        host, _, port = addrport.rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"{addrport!r} is not ip:port; write it as 127.0.0.1:8000.")
        host, port = host.strip("[]"), int(port)
        try:
            check_uvicorn_version()
        except ImproperlyConfigured as error:
            raise CommandError(str(error))
        if settings.WEB_WORKERS > 1:
            if not settings.REDIS_URL:
                raise CommandError(
                    f"WEB_WORKERS={settings.WEB_WORKERS} needs REDIS_URL: without Redis each worker process would "
                    "hold a chat and a signaling registry of its own, and its clients would not hear the others'. "
                    "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0), or WEB_WORKERS=1."
                )
            workers = WebWorkers(addrport, settings.WEB_WORKERS, settings.BASE_DIR / "manage.py", start_node_announcer)
            sys.exit(workers.run())
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the
        # handler it found: let that end the process with 0, as the other commands do.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        application = get_default_application()
        if settings.DEBUG:
            application = ASGIStaticFilesHandler(application)  # as runserver does: the admin's CSS
        server = web_server(application, host, port)
        try:
            sockets = [shared_port_socket(host, port, server.config.backlog)] if reuse_port else None
        except ImproperlyConfigured as error:
            raise CommandError(str(error))
        server.run(sockets=sockets)
