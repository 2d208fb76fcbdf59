"""What every WebSocket consumer of the project shares."""

import logging

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from chatsite.core import metrics
from chatsite.core.limits import MESSAGE_TOO_BIG, frame_bucket, frame_too_big, too_many_frames
from chatsite.core.metrics import WEBSOCKET_CONNECTIONS

log = logging.getLogger(__name__)

ABNORMAL_CLOSURE = 1006  # RFC 6455: the socket ended without a close frame
INTERNAL_ERROR = 1011


class ProjectConsumer(AsyncWebsocketConsumer):
    """A consumer whose `disconnect()` runs once however the socket ends.

    Channels calls `disconnect()` only when a `websocket.disconnect` arrives: an exception
    in a handler, or a cancelled task, ended the consumer without it, and whatever the
    socket held (its place in the chat fan-out, a nickname, a signaling row) stayed taken.
    Here an exception closes the socket with 1011, and `disconnect()` runs in every case.
    """

    open_gauge = None  # this socket's chatsite_websocket_connections child, once accepted
    released = False  # disconnect() has been called

    async def __call__(self, scope, receive, send):
        code = ABNORMAL_CLOSURE
        try:
            await self.serve(scope, receive, send)
        except Exception:
            code = INTERNAL_ERROR
            log.exception("%s failed; closing its socket with %d", type(self).__name__, INTERNAL_ERROR)
            await self.close_after_failure()
        finally:
            # However the consumer ends (disconnect, server close, an exception, cancelled), its socket is gone.
            try:
                await self.release(code)
            except Exception:
                log.exception("%s could not release what its socket held", type(self).__name__)
            if self.open_gauge is not None:
                self.open_gauge.dec()

    async def serve(self, scope, receive, send):
        if get_channel_layer(self.channel_layer_alias) is not None:
            return await super().__call__(scope, receive, send)
        # Without a channel of its own there is only the socket to read: await it directly
        # instead of Channels' race of one new task per message (await_many_dispatch).
        self.scope, self.channel_layer, self.base_send = scope, None, send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol=subprotocol, headers=headers)
        self.bucket = frame_bucket()
        # Once per socket, not per frame; the path comes from the routes, so its values are few.
        self.open_gauge = WEBSOCKET_CONNECTIONS.labels(self.scope["path"])
        self.open_gauge.inc()

    async def dispatch(self, message):
        # Channels closes stale DB connections before every event, client frames and layer
        # events alike: a thread hop per frame. Our DB work goes through
        # chatsite.core.database, whose threads do that around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def frame_allowed(self, text_data, bytes_data):
        """Whether a client's frame is within the limits of every socket (docs/protocols/websockets.md#limits).

        A frame over WS_MAX_FRAME_BYTES closes the socket with 1009. One over the rate
        (WS_RATE_PER_SECOND, WS_RATE_BURST) is dropped, and the client told why through
        `refuse_frame()`; the socket stays open.
        """
        if frame_too_big(text_data, bytes_data, settings.WS_MAX_FRAME_BYTES):
            metrics.websocket_closed(metrics.TOO_BIG)
            await self.close(code=MESSAGE_TOO_BIG)
            return False
        if not self.bucket.take():
            metrics.WEBSOCKET_FRAMES_REFUSED.labels(metrics.RATE).inc()
            await self.refuse_frame(too_many_frames())
            return False
        return True

    async def refuse_frame(self, reason):
        """Tell the client a frame of its was not handled, and why, in its dialect's error frame."""
        raise NotImplementedError

    async def websocket_disconnect(self, message):
        await self.release(message.get("code", ABNORMAL_CLOSURE))
        raise StopConsumer()

    async def release(self, code):
        """Call `disconnect()`, the first time only: it frees what the socket held."""
        if self.released:
            return
        self.released = True
        if getattr(self, "channel_layer", None) is not None:
            for group in self.groups:
                await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(code)

    async def close_after_failure(self):
        """Tell the client with a close frame; the ASGI server alone would drop the connection (1006)."""
        metrics.websocket_closed(metrics.INTERNAL_ERROR)
        try:
            await self.close(code=INTERNAL_ERROR)
        except Exception:
            log.debug("The socket of the failed %s was closed already", type(self).__name__, exc_info=True)
