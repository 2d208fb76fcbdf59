"""SPEC §2 over HTTP: `POST /auth` (token dialect) and the nane read API."""

import time
from urllib.parse import unquote

from django.conf import settings
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import protocol, services

STARTED_NS = time.monotonic_ns()
ROOMS_PREFIX = "/api/rooms/"


class PublicAPIView(APIView):
    # Open to any client, so no session, no CSRF check and no per-request auth work.
    authentication_classes = []
    permission_classes = []


class AuthView(PublicAPIView):
    def post(self, request):
        nickname = request.data.get("nickname") or request.query_params.get("nickname") or ""
        try:
            token = services.issue_token(nickname.strip() if isinstance(nickname, str) else "")
        except services.ChatError as error:
            return Response({"error": str(error)}, status=status.HTTP_403_FORBIDDEN)
        return Response({"token": token}, status=status.HTTP_201_CREATED)


class SettingsView(PublicAPIView):
    def get(self, request):
        return Response(
            {
                "result": {
                    "max_message_length": settings.CHAT_MAX_MESSAGE_LENGTH,
                    "max_room_title_length": protocol.MAX_ROOM_NAME_LENGTH,
                    "max_username_length": protocol.MAX_USERNAME_LENGTH,
                    "max_messages_in_room": settings.CHAT_MAX_MESSAGES_IN_ROOM,
                    "uptime": time.monotonic_ns() - STARTED_NS,
                }
            }
        )


class RoomListView(PublicAPIView):
    def get(self, request):
        return Response({"result": services.rooms_with_last_message()})


def parse_room_path(raw_path):
    """`(name, wants_history)` from a still-encoded `/api/rooms/...` path, or None.

    Split before decoding, so `%2F` belongs to the name (SPEC §6).
    """
    rest = raw_path[len(ROOMS_PREFIX) :]
    parts = rest.split("/")
    if len(parts) == 2 and parts[1] == "history":
        wants_history = True
    elif len(parts) == 1:
        wants_history = False
    else:
        return None
    name = unquote(parts[0], errors="strict")
    return (name, wants_history) if name.strip() else None


class RoomView(PublicAPIView):
    """`/api/rooms/{name}` and `/api/rooms/{name}/history`, matched on the raw path."""

    def get(self, request, rest=None):
        raw = request.scope.get("raw_path") if hasattr(request, "scope") else None
        raw_path = raw.decode("latin1") if raw else request.path
        try:
            parsed = parse_room_path(raw_path)
        except UnicodeDecodeError:
            parsed = None
        if parsed is None:
            return Response({"error": "not found: use /api/rooms/{name} or /api/rooms/{name}/history"}, status=404)
        name, wants_history = parsed
        room = services.find_room(name)
        if room is None:
            return Response({"error": f"room {name} not found"}, status=status.HTTP_404_NOT_FOUND)
        return Response({"result": services.history(room) if wants_history else services.room_detail(room)})
