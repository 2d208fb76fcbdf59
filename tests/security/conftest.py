"""The cast for attacks: chat and signaling sockets in this process, and a count of what is stored."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import ChatSession, Message, Room
from nameserver.models import Client
from signaling.models import ActiveConnection, SignalingUser
from tests.messaging.conftest import nane, sockets, token_client, token_for  # noqa: F401  (fixtures)
from tests.signaling.conftest import Socket as SignalingSocket
from tests.signaling.conftest import close_thread_connections


@database_sync_to_async
def stored_state():
    """How many of each stored thing there is; an attack that is refused leaves this unchanged."""
    return {
        "messages": Message.objects.count(),
        "rooms": Room.objects.count(),
        "chat sessions": ChatSession.objects.count(),
        "connected chat sessions": ChatSession.objects.filter(connected__isnull=False).count(),
        "signaling users": SignalingUser.objects.count(),
        "active connections": ActiveConnection.objects.count(),
        "name-server clients": Client.objects.count(),
    }


@pytest.fixture
async def signaling_sockets():
    """`/v1/connect` sockets (cookie of `username`, extra headers) that the test opens itself."""
    made = []

    def make(username=None, headers=()):
        socket = SignalingSocket(username, headers=headers)
        made.append(socket)
        return socket

    yield make
    for socket in made:
        await socket.close()
    await close_thread_connections()
