"""Three fixes to daphne, the server of `manage.py runserver`, applied when Django starts.

Written for daphne 4.2 and autobahn 26.11; `apply()` refuses other versions, so an
upgrade makes whoever does it re-read these against the new source. It runs only in
daphne's processes (`chatsite.apps.serves_with_daphne`).

1. **Close codes.** autobahn's `sendClose`, which daphne calls for `websocket.close`,
   accepts only 1000 and 3000-4999 and raises for the RFC 6455 codes a server needs
   (1001 going away, 1008, 1009 too big, 1011), which daphne then reports to the client
   as 1011. Upstream: crossbario/autobahn-python#1642, django/daphne#374.
2. **SIGTERM.** Daphne's shutdown only cancels the application tasks: clients see the
   TCP connection drop (1006), no disconnect handler frees a nickname or a signaling
   row, and the step raises KeyError (into Twisted's muted log) as soon as one
   connection never got an application (a bare TCP connect in the last seconds, a health
   check). Then nothing is cancelled, and CPython 3.11 segfaults collecting the pending
   consumers at exit. Here open sockets are closed with 1001, handshakes still in
   progress are refused, consumers get SHUTDOWN_GRACE seconds to clean up, and the rest
   are cancelled. Upstream: django/daphne#177 (no graceful connection draining).
3. **Close reasons.** daphne passes only the code of a `websocket.close` to autobahn and
   drops its `reason` (ASGI 2.3), so `/v1/connect` closed with 4000 and an empty reason
   where the original says `UNAUTHENTICATED` or `ALREADY_EXISTS`, and browsers read
   `CloseEvent.reason`. Here the reason goes into the close frame (autobahn cuts it to
   the 123 bytes a close frame holds). Upstream: django/daphne#374.
"""

import asyncio
import logging

from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

WRITTEN_FOR = "4.2."
WRITTEN_FOR_AUTOBAHN = "26.11."
# Seconds a SIGTERMed daphne gives its consumers to finish after their sockets are closed.
SHUTDOWN_GRACE = 3.0
GOING_AWAY = 1001
# RFC 6455 codes a server may close with that autobahn's sendClose refuses.
SERVER_CLOSE_CODES = {1001, 1008, 1009, 1011}


def apply():
    """Fix daphne if it is installed (runserver); other servers need nothing."""
    try:
        import daphne
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return
    import autobahn

    for package, written_for, setting in (
        (daphne, WRITTEN_FOR, "WRITTEN_FOR"),
        (autobahn, WRITTEN_FOR_AUTOBAHN, "WRITTEN_FOR_AUTOBAHN"),
    ):
        if not package.__version__.startswith(written_for):
            raise ImproperlyConfigured(
                f"chatsite/server/daphne_fixes.py was written for {package.__name__} {written_for}x, not "
                f"{package.__version__}: check whether the new version still needs each fix, then update "
                f"{setting} (or pin {package.__name__}). Only runserver and daphne load these fixes."
            )
    allow_server_close_codes(WebSocketProtocol)
    close_sockets_on_shutdown(Server, WebSocketProtocol)
    pass_close_reasons(WebSocketProtocol)


def allow_server_close_codes(protocol_class):
    """serverClose(code, reason): any code a server may send, and the reason with it."""
    from autobahn.util import encode_truncate

    if getattr(protocol_class.serverClose, "allows_server_codes", False):
        return

    def server_close(self, code=None, reason=None):
        code = 1000 if code is None else code
        if code in SERVER_CLOSE_CODES:
            # As sendClose does it: at most the 123 bytes a close frame holds, cut between characters.
            reason_bytes = encode_truncate(reason, 123) if reason else None
            self.sendCloseFrame(code=code, reasonUtf8=reason_bytes, isReply=False)
        else:
            self.sendClose(code=code, reason=reason or None)

    server_close.allows_server_codes = True
    protocol_class.serverClose = server_close


def pass_close_reasons(protocol_class):
    original = protocol_class.handle_reply
    if getattr(original, "passes_close_reasons", False):
        return

    def handle_reply(self, message):
        # Only the close of an open socket changes: a refused handshake (403) has no close frame.
        if message.get("type") == "websocket.close" and self.state != self.STATE_CONNECTING:
            return self.serverClose(code=message.get("code"), reason=message.get("reason"))
        return original(self, message)

    handle_reply.passes_close_reasons = True
    protocol_class.handle_reply = handle_reply


def close_sockets_on_shutdown(server_class, protocol_class):
    from twisted.internet.defer import Deferred

    if getattr(server_class.kill_all_applications, "closes_sockets", False):
        return

    def running_applications(server):
        instances = (details.get("application_instance") for details in server.connections.values())
        return [instance for instance in instances if instance and not instance.done()]

    async def close_then_cancel(server):
        for protocol, details in list(server.connections.items()):
            if not isinstance(protocol, protocol_class) or "disconnected" in details:
                continue
            if protocol.state == protocol.STATE_CONNECTING:
                # A handshake still in connect() has no WebSocket to close yet (autobahn
                # raises "cannot close a connection not yet connected"): refuse it.
                protocol.serverReject()
            else:
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
    server_class.kill_all_applications = kill_all_applications
