"""What every WebSocket consumer of the project shares."""

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer


class ProjectConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        # Channels closes stale DB connections before every event, client frames and layer
        # events alike: a thread hop per frame. Our DB work goes through
        # database_sync_to_async, which does that in its own thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
