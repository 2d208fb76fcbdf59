from django.apps import AppConfig


class ChatsiteConfig(AppConfig):
    """Project-wide pieces: management commands, and the daphne fix every consumer needs."""

    name = "chatsite"

    def ready(self):
        allow_server_close_codes()


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
