from django.urls import path
from django.views.generic import RedirectView

from signaling import api, views

urlpatterns = [
    path("v1/register", api.RegisterView.as_view(), name="signaling-register"),
    path("v1/user", api.UserView.as_view(), name="signaling-user"),
    path("v1/ice-servers", api.IceServersView.as_view(), name="signaling-ice-servers"),
    # The WebSocket itself is routed in signaling/routing.py; this answers plain HTTP on its path.
    path("v1/connect", api.ConnectView.as_view(), name="signaling-connect"),
    path("v1/active-users", api.ActiveUsersView.as_view(), name="signaling-active-users"),
    path("v1/kick-active-users", api.KickActiveUsersView.as_view(), name="signaling-kick"),
    path("meeting", views.meeting, name="signaling-meeting"),
    path("meeting/", RedirectView.as_view(pattern_name="signaling-meeting"), name="signaling-meeting-slash"),
]
