"""SPEC §1 over DRF: `GET /clients`, `POST /client`, `PATCH /client`."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from nameserver import services
from nameserver.serializers import HeartbeatSerializer, RegisterSerializer


class PublicAPIView(APIView):
    # Open to any client, so no session, no CSRF check and no per-request auth work.
    authentication_classes = []
    permission_classes = []


class ClientListView(PublicAPIView):
    def get(self, request):
        return Response(services.live_clients())


class ClientView(PublicAPIView):
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client = services.register_client(**serializer.validated_data)
        return Response({"id": str(client.id)}, status=status.HTTP_201_CREATED)

    def patch(self, request):
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_id = serializer.validated_data["id"]
        if not services.heartbeat(client_id):
            return Response({"error": f"client {client_id} is unknown or expired"}, status=status.HTTP_404_NOT_FOUND)
        return Response(services.live_clients())
