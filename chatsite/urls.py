from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chatsite import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.HealthView.as_view(), name="healthz"),
    path("readyz", views.ReadyView.as_view(), name="readyz"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/ui/", SpectacularSwaggerView.as_view(url_name="schema"), name="schema-ui"),
    path("", include("nameserver.urls")),
    path("", include("messaging.urls")),
    path("", include("signaling.urls")),
    path("", include("contacts.urls")),
]
