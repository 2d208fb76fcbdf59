"""The cast for attacks: chat and signaling sockets in this process, and the rows that are stored."""

import pytest
from channels.db import database_sync_to_async

from contacts.models import Contact, Replica
from messaging.models import ChatSession, Message, Room
from nameserver.models import Client
from signaling.models import ActiveConnection, SignalingUser
from tests.messaging.conftest import nane, sockets, token_client, token_for  # noqa: F401  (fixtures)
from tests.signaling.conftest import Socket as SignalingSocket
from tests.signaling.conftest import close_thread_connections


def rows(queryset, *fields):
    return sorted(queryset.values_list(*fields))


@database_sync_to_async
def stored_state():
    """Every stored row, by what a user would notice (no timestamps, no generated ids);
    an attack that is refused leaves this unchanged."""
    return {
        "messages": rows(Message.objects, "room__key", "seq", "sender", "text", "client_id"),
        "rooms": rows(Room.objects, "key", "name"),
        # The /auth reservations and the token sessions they become.
        "chat sessions": [
            (nickname, connected is not None, ended is not None, room)
            for nickname, connected, ended, room in rows(
                ChatSession.objects, "nickname", "connected", "ended", "room__key"
            )
        ],
        "signaling users": rows(SignalingUser.objects, "key", "username"),
        "active connections": rows(ActiveConnection.objects, "user__key"),
        "name-server clients": rows(Client.objects, "ip", "port", "name"),
        "contacts replicas": rows(Replica.objects, "name", "clock"),
        "contacts": rows(Contact.objects, "replica__name", "user", "name", "phone", "clock", "deleted"),
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
