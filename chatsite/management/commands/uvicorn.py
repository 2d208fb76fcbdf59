import asyncio
import contextlib
import logging
import math
import signal
import socket
import sys

import uvicorn
from channels.routing import get_default_application
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from chatsite.server import logs
from chatsite.server.http_protocol import RESERVED_FILES, HTTPProtocol, check_uvicorn_version, connection_cap
from chatsite.server.web_workers import WebWorkers
from chatsite.server.websocket_protocol import WebSocketProtocol

log = logging.getLogger(__name__)


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
            sys.exit(WebWorkers(addrport, settings.WEB_WORKERS, settings.BASE_DIR / "manage.py").run())
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the
        # handler it found: let that end the process with 0, as the other commands do.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        application = get_default_application()
        if settings.DEBUG:
            application = ASGIStaticFilesHandler(application)  # as runserver does: the admin's CSS
        config = uvicorn.Config(
            application,
            host=host,
            port=port,
            loop="uvloop",
            # httptools with deadlines for the request head and body, a cap on the head's size
            # and one on the process's connections. Not uvicorn's `limit_concurrency`: it
            # answers 503 only once a whole head has come, so stalled connections pile up.
            http=bounded_http_protocol(),
            ws=WebSocketProtocol,
            # Compression would run once per client for every broadcast frame, undoing the
            # chat's encode-once fan-out; daphne does not offer it either.
            ws_per_message_deflate=False,
            # uvicorn buffers a message up to this before the application sees it (16 MiB by
            # default); the consumers refuse one over WS_MAX_FRAME_BYTES with 1009 and count it,
            # and uvicorn closes with 1009 itself past twice that, so no socket buffers more.
            ws_max_size=2 * settings.WS_MAX_FRAME_BYTES,
            # Django's LOGGING stays in charge; uvicorn's access log would print query strings
            # (chat tokens) and costs a log line per request.
            log_config=None,
            access_log=False,
            # Channels' router has no lifespan handler.
            lifespan="off",
        )
        sockets = [shared_port_socket(host, port, config.backlog)] if reuse_port else None
        OncePerSecondServer(config).run(sockets=sockets)


def bounded_http_protocol():
    max_connections = connection_cap(settings.HTTP_MAX_CONNECTIONS)
    if max_connections < settings.HTTP_MAX_CONNECTIONS:
        log.warning(
            "HTTP_MAX_CONNECTIONS=%d, but the process may open only %d files: connections are capped at %d. "
            "Raise the open-file limit (ulimit -n, LimitNOFILE=) to serve more.",
            settings.HTTP_MAX_CONNECTIONS,
            max_connections + RESERVED_FILES,
            max_connections,
        )
    return HTTPProtocol.bounded(
        header_timeout=settings.HTTP_HEADER_TIMEOUT,
        body_timeout=settings.HTTP_BODY_TIMEOUT,
        max_header_bytes=settings.HTTP_MAX_HEADER_BYTES,
        max_connections=max_connections,
    )


def shared_port_socket(host, port, backlog):
    """A listening socket that other processes may bind too: the kernel spreads connections among them."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        raise CommandError(f"Cannot listen on {host}:{port}: {error}.")
    sock.listen(backlog)
    return sock


class OncePerSecondServer(uvicorn.Server):
    """uvicorn's server with its housekeeping tick once a second instead of ten times.

    The tick only refreshes the Date header (once a second anyway) and looks for a shutdown
    request; here a shutdown signal wakes it at once. A wake-up of an idle process costs
    far more CPU than the tick's work: ten a second were most of what idle WebSockets cost
    (bench/README.md, "What changed, and why").
    """

    wake = None

    async def main_loop(self):
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        while not await self.on_tick(0):  # counter 0: the Date header is refreshed every time
            # On the whole second, with the keepalive pings (chatsite/server/websocket_protocol.py).
            now = self.loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), math.ceil(now + 0.001) - now)

    def handle_exit(self, sig, frame):
        logs.stopping.set()
        super().handle_exit(sig, frame)
        if self.wake is not None:
            self.loop.call_soon_threadsafe(self.wake.set)
