"""WebSocket Origin check of SPEC §5: browsers from foreign hosts are refused."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port


class BrowserOriginValidator:
    """Refuse a handshake whose Origin host is not in ALLOWED_HOSTS.

    Unlike Channels' AllowedHostsOriginValidator, a handshake without Origin is
    allowed: only browsers send one, and non-browser clients cannot be tricked into
    using someone else's cookies. `Origin: null` (sandboxed pages, file://) is refused.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not self.allows(dict(scope["headers"]).get(b"origin")):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)

    @staticmethod
    def allows(origin):
        if origin is None:
            return True
        host = urlsplit(origin.decode("latin1")).netloc
        domain, _port = split_domain_port(host)
        if not domain:
            return False
        allowed = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
        return any(pattern == "*" or is_same_domain(domain, pattern) for pattern in allowed)
