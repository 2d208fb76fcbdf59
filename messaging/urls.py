from django.urls import path, re_path

from messaging import api, views

urlpatterns = [
    path("", views.chat_page, name="chat-home"),
    path("chat/", views.chat_page, name="chat-page"),
    path("auth", api.AuthView.as_view(), name="chat-auth"),
    path("api/settings", api.SettingsView.as_view(), name="chat-settings"),
    path("api/username-check", api.UsernameCheckView.as_view(), name="chat-username-check"),
    path("api/rooms", api.RoomListView.as_view(), name="chat-rooms"),
    re_path(r"^api/rooms/(?P<rest>(?s:.*))$", api.RoomView.as_view(), name="chat-room"),
]
