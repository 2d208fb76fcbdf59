"""The web process's HTTP path, behind one boundary: an ASGI application in, Django's views out.

`http_application()` is all the project shell needs (chatsite/asgi.py). Behind it:

- chatsite/server/wsgi_bridge.py speaks ASGI on one side and WSGI (PEP 3333) on the
  other, and hands requests to a thread in batches. It knows nothing of Django.
- chatsite/server/handlers.py chooses the Django handler of each request and gives a
  batch of public requests one request cycle. It is the only code that touches Django's
  handler internals: refused at start-up on another Django (chatsite/server/versions.py),
  and each internal it relies on is pinned by tests/chatsite/test_django_internals.py.

What each step buys: bench/README.md, "HTTP"; the path itself: docs/architecture.md,
"How an HTTP request reaches Django".
"""

from django.conf import settings

from chatsite.server.handlers import DjangoHandlers
from chatsite.server.versions import check_django_version
from chatsite.server.wsgi_bridge import WSGIBridge


def http_application():
    """The ASGI application of every HTTP request; refuses a Django the handlers were not written for."""
    check_django_version()
    handlers = DjangoHandlers()
    return WSGIBridge(
        handlers,
        threads=settings.HTTP_THREADS,
        max_body_bytes=settings.HTTP_MAX_BODY_BYTES,
        stall_after=settings.HTTP_BATCH_STALL,
        batch=handlers.batch,
    )
