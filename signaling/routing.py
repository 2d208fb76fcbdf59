from django.urls import path

from signaling.consumers import SignalingConsumer

websocket_urlpatterns = [path("v1/connect", SignalingConsumer.as_asgi())]
