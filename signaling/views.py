from django.conf import settings
from django.shortcuts import render


def meeting(request):
    """The page where two browsers register, find each other and call over WebRTC."""
    config = {"ringTimeout": settings.SIGNALING_RING_TIMEOUT, "connectTimeout": settings.SIGNALING_CONNECT_TIMEOUT}
    return render(request, "signaling/meeting.html", {"meeting_config": config})
