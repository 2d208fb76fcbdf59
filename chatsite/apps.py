import asyncio
import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)

# Seconds a SIGTERMed daphne gives its consumers to finish after their sockets are closed.
SHUTDOWN_GRACE = 3.0
GOING_AWAY = 1001


class ChatsiteConfig(AppConfig):
    """Project-wide pieces: management commands, and the daphne fixes every consumer needs."""

    name = "chatsite"

    def ready(self):
        allow_server_close_codes()
        close_sockets_on_shutdown()


# RFC 6455 lets a server close with these; autobahn's sendClose (under daphne) only
# accepts 1000 and 3000-4999 and raises, which daphne reports to the client as 1011.
SERVER_CLOSE_CODES = {1001, 1008, 1009, 1011}


def allow_server_close_codes():
    """Let daphne send 1009 (frame too big) and its kin when a consumer closes with them."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # another ASGI server: nothing to fix
        return
    original = WebSocketProtocol.serverClose
    if getattr(original, "allows_server_codes", False):
        return

    def server_close(self, code=None):
        if code in SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    server_close.allows_server_codes = True
    WebSocketProtocol.serverClose = server_close


def close_sockets_on_shutdown():
    """On SIGTERM, daphne closes every WebSocket with 1001 and lets consumers clean up before exiting.

    Daphne's own shutdown step only cancels the application tasks: clients see the TCP
    connection drop (1006), no disconnect handler frees a nickname or a signaling row,
    and it raises KeyError (silently, into Twisted's muted log) as soon as one connection
    never got an application (any bare TCP connect in the last 10 s, e.g. a health check).
    Then nothing is cancelled, and CPython 3.11 segfaults collecting the pending
    consumers at exit (exit code -11).
    """
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet.defer import Deferred
    except ImportError:  # another ASGI server
        return
    if getattr(Server.kill_all_applications, "closes_sockets", False):
        return

    def running_applications(server):
        details = server.connections.values()
        return [
            d["application_instance"]
            for d in details
            if d.get("application_instance") and not d["application_instance"].done()
        ]

    async def close_then_cancel(server):
        for protocol, details in list(server.connections.items()):
            if isinstance(protocol, WebSocketProtocol) and "disconnected" not in details:
                protocol.serverClose(code=GOING_AWAY)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        while running_applications(server) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        late = running_applications(server)
        for application in late:
            application.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        log.info("Shut down: sockets closed with %s, %d application(s) cancelled", GOING_AWAY, len(late))

    def kill_all_applications(self):
        return Deferred.fromFuture(asyncio.ensure_future(close_then_cancel(self)))

    kill_all_applications.closes_sockets = True
    Server.kill_all_applications = kill_all_applications
