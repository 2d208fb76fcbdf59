from django.shortcuts import render


def meeting(request):
    """The page where two browsers register, find each other and call over WebRTC."""
    return render(request, "signaling/meeting.html")
