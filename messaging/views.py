from django.conf import settings
from django.shortcuts import render

from chatsite.core.names import MAX_NAME_LENGTH
from messaging.protocol import MAX_ROOM_NAME_LENGTH


def chat_page(request):
    """The chat page: pick a name, browse rooms and their history, talk live (nane dialect)."""
    # With several nodes (docs/architecture.md, Several nodes) a person can tell which one they are on.
    return render(
        request,
        "messaging/chat.html",
        {
            "node": settings.NODE_NAME or settings.NODE_ADDRESS,
            "max_name_length": MAX_NAME_LENGTH,
            "max_room_name_length": MAX_ROOM_NAME_LENGTH,
        },
    )
