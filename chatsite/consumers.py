"""What every WebSocket consumer of the project shares."""

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from chatsite.metrics import WEBSOCKET_CONNECTIONS


class ProjectConsumer(AsyncWebsocketConsumer):
    open_gauge = None  # this socket's chatsite_websocket_connections child, once accepted

    async def __call__(self, scope, receive, send):
        try:
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
        finally:
            # However the consumer ends (disconnect, server close, an exception), its socket is gone.
            if self.open_gauge is not None:
                self.open_gauge.dec()

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol=subprotocol, headers=headers)
        # Once per socket, not per frame; the path comes from the routes, so its values are few.
        self.open_gauge = WEBSOCKET_CONNECTIONS.labels(self.scope["path"])
        self.open_gauge.inc()

    async def dispatch(self, message):
        # Channels closes stale DB connections before every event, client frames and layer
        # events alike: a thread hop per frame. Our DB work goes through
        # database_sync_to_async, which does that in its own thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
