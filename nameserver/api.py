"""The name server over DRF: `GET /clients`, `POST /client`, `PATCH /client`, and the same for web nodes."""

import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from chatsite.core.api import PublicAPIView
from chatsite.core.schema import ERROR
from nameserver import services
from nameserver.models import Client, Node
from nameserver.parsers import BodyIsJSON, GoJSONParser
from nameserver.serializers import LIVE_MAP_SCHEMA, HeartbeatSerializer, RegisterSerializer

INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="The body is malformed; the answer names each bad field.")


def json_response(document):
    # A newline at the end, as every JSON answer here has (chatsite.core.renderers.JSONRenderer).
    return HttpResponse(document + b"\n", content_type="application/json")


class ClientListView(PublicAPIView):
    registry = Client

    @extend_schema(summary="Live clients", responses={200: LIVE_MAP_SCHEMA})
    def get(self, request):
        return json_response(services.live_json(self.registry))


class ClientView(PublicAPIView):
    registry = Client
    parser_classes = [GoJSONParser]
    content_negotiation_class = BodyIsJSON

    def body_data(self, request):
        """What `request.data` gives here, read by GoJSONParser straight from the body.

        Every body of this view goes to that parser, so DRF's general path (content types,
        streams, forms and files) has nothing to choose, yet it cost the heartbeat a share
        of its instructions (bench/README.md, "What made it faster").
        """
        body = request.body
        return GoJSONParser().parse(io.BytesIO(body)) if body else {}  # DRF too gives {} for no body

    @extend_schema(
        summary="Register a client",
        request=RegisterSerializer,
        responses={201: inline_serializer("Registered", {"id": serializers.UUIDField()}), 400: INVALID},
    )
    def post(self, request):
        entry = services.register(self.registry, **RegisterSerializer.validated(self.body_data(request)))
        return Response({"id": str(entry.id)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Heartbeat: mark a client alive now",
        request=HeartbeatSerializer,
        responses={200: LIVE_MAP_SCHEMA, 400: INVALID, 404: ERROR},
    )
    def patch(self, request):
        key = HeartbeatSerializer.validated(self.body_data(request))["id"]
        live = services.heartbeat(self.registry, key)
        if live is None:
            name = self.registry._meta.verbose_name
            return Response({"error": f"{name} {key} is unknown or expired"}, status=status.HTTP_404_NOT_FOUND)
        return json_response(live)


@extend_schema_view(get=extend_schema(summary="Live web nodes"))
class NodeListView(ClientListView):
    registry = Node


@extend_schema_view(
    post=extend_schema(summary="Register a web node"),
    patch=extend_schema(summary="Heartbeat: mark a web node alive now"),
)
class NodeView(ClientView):
    registry = Node
