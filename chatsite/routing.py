"""Every WebSocket path of the platform, gathered from the apps that own them."""

from messaging.routing import websocket_urlpatterns as messaging_ws
from signaling.routing import websocket_urlpatterns as signaling_ws

websocket_urlpatterns = [*messaging_ws, *signaling_ws]
