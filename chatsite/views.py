"""Health, readiness and metrics: what load balancers, orchestrators and Prometheus ask."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from chatsite import health
from chatsite.core import metrics
from chatsite.core.api import PublicAPIView
from chatsite.core.networks import is_in_networks

READY = inline_serializer(
    "Readiness",
    {"status": serializers.CharField(), "failed": serializers.DictField(child=serializers.CharField())},
)


class HealthView(PublicAPIView):
    @extend_schema(
        summary="The process is up",
        responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
    )
    def get(self, request):
        return Response({"status": "ok"})


class ReadyView(PublicAPIView):
    @extend_schema(
        summary="Ready for traffic: the database answers, migrations are applied, the channel layer answers",
        responses={200: READY, 503: READY},
    )
    def get(self, request):
        failed = health.readiness()
        if failed:
            return Response({"status": "unavailable", "failed": failed}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"status": "ready", "failed": {}})


# A speech bubble: browsers ask every page for /favicon.ico, and a 404 would be logged each time.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<path d="M2 2h12v9H6l-4 3z" fill="#1f2937"/><circle cx="5.5" cy="6.5" r="1" fill="#fff"/>'
    '<circle cx="8" cy="6.5" r="1" fill="#fff"/><circle cx="10.5" cy="6.5" r="1" fill="#fff"/></svg>'
)


def favicon(request):
    """The site's icon (SVG), for the pages, the admin and the API docs alike."""
    response = HttpResponse(FAVICON, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def is_allowed_scraper(address):
    """Whether a client at `address` may read the metrics (METRICS_ALLOWED_NETS)."""
    return is_in_networks(address, settings.METRICS_ALLOWED_NETS)


class MetricsView(PublicAPIView):
    @extend_schema(exclude=True)  # Prometheus text, not JSON: documented in docs/operations.md
    def get(self, request):
        if not is_allowed_scraper(request.META.get("REMOTE_ADDR", "")):
            return HttpResponse(
                "Metrics are served to METRICS_ALLOWED_NETS only (loopback unless set).\n",
                status=status.HTTP_403_FORBIDDEN,
                content_type="text/plain",
            )
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)
