"""uvicorn as the web process runs it (`manage.py uvicorn`): its settings, its server loop, its socket.

uvicorn on uvloop and httptools, with the project's HTTP protocol (chatsite/server/http_protocol.py)
and WebSocket protocol (chatsite/server/websocket_protocol.py), and a Server whose
housekeeping tick comes once a second, on the whole second, in step with the keepalive
pings. It overrides `Server.main_loop` and `handle_exit` and calls `on_tick`: checked
against the uvicorn it was written for (chatsite/server/versions.py).
"""

import asyncio
import contextlib
import logging
import math
import socket

import uvicorn
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chatsite.server import logs
from chatsite.server.http_protocol import RESERVED_FILES, HTTPProtocol, connection_cap
from chatsite.server.websocket_protocol import WebSocketProtocol

log = logging.getLogger(__name__)


def web_server(application, host, port):
    """The server of `application` on host:port, configured from the settings; `.run()` serves."""
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
        ws_ping_interval=settings.WS_PING_INTERVAL,
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
    return OncePerSecondServer(config)


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
        sock.close()
        raise ImproperlyConfigured(f"Cannot listen on {host}:{port}: {error}.")
    sock.listen(backlog)
    return sock


class OncePerSecondServer(uvicorn.Server):
    """uvicorn's server with its housekeeping tick once a second instead of ten times.

    The tick only refreshes the Date header (once a second anyway) and looks for a shutdown
    request; here a shutdown signal wakes it at once. A wake-up of an idle process is
    dear on a small VM, and ten a second were most of what idle WebSockets cost
    (bench/README.md, "Fewer wake-ups").
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
