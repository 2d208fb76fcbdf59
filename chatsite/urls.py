from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("nameserver.urls")),
    path("", include("messaging.urls")),
    path("", include("signaling.urls")),
    path("", include("contacts.urls")),
]
