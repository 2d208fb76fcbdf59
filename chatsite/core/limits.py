"""Limits on every WebSocket (docs/protocols/websockets.md): per connection, and per client address."""

import time
from collections import Counter

from channels.security.websocket import WebsocketDenier
from django.conf import settings

# Close code for a frame over WS_MAX_FRAME_BYTES.
MESSAGE_TOO_BIG = 1009


def frame_too_big(text_data, bytes_data, limit):
    """Whether a WebSocket message is over `limit` bytes (text counted as UTF-8)."""
    if text_data is not None:
        # A character is at least one byte, so only a borderline text needs encoding.
        return len(text_data) > limit or (
            len(text_data) * 4 > limit and len(text_data.encode("utf-8", "surrogatepass")) > limit
        )
    return len(bytes_data or b"") > limit


def too_many_frames():
    """What a client over the rate limit is told, in its dialect's error frame (the same words in every dialect)."""
    return f"too many messages: at most {settings.WS_RATE_PER_SECOND:g} per second"


def frame_bucket():
    """The rate limit of one WebSocket: WS_RATE_PER_SECOND frames a second, WS_RATE_BURST at once."""
    return TokenBucket(settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST)


class TokenBucket:
    """`rate` tokens a second up to `burst`; each frame takes one."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.updated = float(burst), clock()

    def take(self):
        """True when a frame may pass now."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class ConnectionsPerAddress:
    """ASGI middleware: refuse a WebSocket handshake from an address already holding too many sockets.

    The count is per process and lives as long as each connection's application call, so a
    socket that ends by any means (close, dropped TCP, server-side close) frees its slot.
    Behind a reverse proxy every client has the proxy's address: raise the limit there, or
    set it to 0 (no limit).
    """

    def __init__(self, application):
        self.application = application
        self.open = Counter()

    async def __call__(self, scope, receive, send):
        address = (scope.get("client") or (None,))[0]
        if scope["type"] != "websocket" or address is None:
            return await self.application(scope, receive, send)
        limit = settings.WS_MAX_CONNECTIONS_PER_ADDRESS
        if limit and self.open[address] >= limit:
            return await WebsocketDenier()(scope, receive, send)
        self.open[address] += 1
        try:
            return await self.application(scope, receive, send)
        finally:
            self.open[address] -= 1
            if not self.open[address]:
                del self.open[address]
