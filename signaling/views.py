from django.conf import settings
from django.shortcuts import render

from chatsite.core.names import MAX_NAME_LENGTH


def meeting(request):
    """The page where two browsers register, find each other and call over WebRTC."""
    config = {"ringTimeout": settings.SIGNALING_RING_TIMEOUT, "connectTimeout": settings.SIGNALING_CONNECT_TIMEOUT}
    return render(request, "signaling/meeting.html", {"meeting_config": config, "max_name_length": MAX_NAME_LENGTH})
