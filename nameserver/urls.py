from django.urls import path

from nameserver import api, views

urlpatterns = [
    path("clients", api.ClientListView.as_view(), name="nameserver-clients"),
    path("client", api.ClientView.as_view(), name="nameserver-client"),
    path("nameserver/", views.live_registry, name="nameserver-live"),
]
