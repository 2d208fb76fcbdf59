"""SPEC §1 over DRF: `GET /clients`, `POST /client`, `PATCH /client`."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from chatsite.api import PublicAPIView
from chatsite.schema import ERROR
from nameserver import services
from nameserver.parsers import BodyIsJSON, GoJSONParser
from nameserver.serializers import LIVE_MAP_SCHEMA, HeartbeatSerializer, RegisterSerializer

INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="The body is malformed; the answer names each bad field.")


def live_map():
    return HttpResponse(services.live_clients_json(), content_type="application/json")


class ClientListView(PublicAPIView):
    @extend_schema(summary="Live clients", responses={200: LIVE_MAP_SCHEMA})
    def get(self, request):
        return live_map()


class ClientView(PublicAPIView):
    parser_classes = [GoJSONParser]
    content_negotiation_class = BodyIsJSON

    @extend_schema(
        summary="Register a client",
        request=RegisterSerializer,
        responses={201: inline_serializer("Registered", {"id": serializers.UUIDField()}), 400: INVALID},
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client = services.register_client(**serializer.validated_data)
        return Response({"id": str(client.id)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Heartbeat: mark a client alive now",
        request=HeartbeatSerializer,
        responses={200: LIVE_MAP_SCHEMA, 400: INVALID, 404: ERROR},
    )
    def patch(self, request):
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_id = serializer.validated_data["id"]
        if not services.heartbeat(client_id):
            return Response({"error": f"client {client_id} is unknown or expired"}, status=status.HTTP_404_NOT_FOUND)
        return live_map()
