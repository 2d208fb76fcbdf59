from django.urls import path

from messaging.consumers import ChatEntrance

websocket_urlpatterns = [path("ws", ChatEntrance())]
