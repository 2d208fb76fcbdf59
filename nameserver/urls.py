from django.urls import path

from nameserver import api, views

urlpatterns = [
    path("clients", api.ClientListView.as_view(), name="nameserver-clients"),
    path("client", api.ClientView.as_view(), name="nameserver-client"),
    path("nodes", api.NodeListView.as_view(), name="nameserver-nodes"),
    path("node", api.NodeView.as_view(), name="nameserver-node"),
    path("nameserver/", views.live_registry, name="nameserver-live"),
]
