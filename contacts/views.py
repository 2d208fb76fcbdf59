from django.http import JsonResponse
from django.shortcuts import render

from contacts.services import replica_views


def replicas_page(request):
    """The page that shows every replica's view of one user side by side, refreshed each second."""
    return render(request, "contacts/replicas.html")


def replicas_json(request):
    """Each replica's clock and live contacts of `?user=`, read from the database."""
    user = request.GET.get("user", "")
    return JsonResponse({"user": user, "replicas": replica_views(user)})
