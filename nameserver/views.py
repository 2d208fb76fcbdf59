from django.shortcuts import render


def live_registry(request):
    """The page that lists live clients and refreshes itself from `GET /clients`."""
    return render(request, "nameserver/live.html")
