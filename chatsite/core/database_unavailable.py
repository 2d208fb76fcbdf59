"""What a client is told when the database cannot answer: 503 over HTTP, an error frame over a WebSocket.

A lock held past `DATABASE_LOCK_TIMEOUT` (SQLite's "database is locked", PostgreSQL's
lock timeout) and a database that cannot be reached both come out of Django as
`OperationalError` (`InterfaceError` for a connection already lost). They say nothing
about the request, and trying again later may well work: so the answer is 503 with
`Retry-After` and a JSON body, never a 500 or Django's debug page, and a WebSocket
client gets an error frame and keeps its socket. Other database errors (an integrity
error, a bad query) are faults of the code and stay 500s.

Two doors lead here: DRF's exception handler for the API views (`REST_FRAMEWORK`), and a
middleware for the other views (`MIDDLEWARE`); the public endpoints' handler has no
middleware with view hooks (chatsite/server/handlers.py), and all of them are DRF views.
"""

import logging
import math

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)

ERRORS = (OperationalError, InterfaceError)
MESSAGE = "database unavailable, try again"


def response(error):
    log.warning("Answered 503: the database is unavailable (%s)", error)
    answer = JsonResponse({"error": MESSAGE}, status=503)
    # Retrying sooner would only wait for the same lock again.
    answer["Retry-After"] = str(max(1, math.ceil(settings.DATABASE_LOCK_TIMEOUT)))
    return answer


def exception_handler(exc, context):
    """DRF's exception handler, with the database's unavailability answered 503."""
    if isinstance(exc, ERRORS):
        return response(exc)
    return drf_exception_handler(exc, context)


class DatabaseUnavailableMiddleware:
    """The same answer for the views that are not DRF's (pages, the admin)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ERRORS):
            return response(exception)
        return None
