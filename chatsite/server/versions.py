"""The uvicorn and Django versions the server package was written for, and the checks that refuse others.

The package subclasses uvicorn's protocols and its Server, and trims Django's WSGI
handler; each relies on internals a minor release may change. The web process refuses to
start on another version, with the fix in the message, so an upgrade makes whoever does
it re-read these modules against the new source and run the contract tests named here.
(daphne and autobahn are checked by `chatsite/server/daphne_fixes.py`, in daphne's processes only.)
"""

import django
import uvicorn
from django.core.exceptions import ImproperlyConfigured

WRITTEN_FOR_UVICORN = "0.54.0"
# What subclasses uvicorn, and what each relies on.
UVICORN_SUBCLASSES = (
    "chatsite/server/http_protocol.py HTTPProtocol (httptools_impl.HttpToolsProtocol's parser callbacks)",
    "chatsite/server/websocket_protocol.py WebSocketProtocol (websockets_sansio_impl's state and keepalive)",
    "chatsite/server/uvicorn_server.py OncePerSecondServer (Server.main_loop, on_tick, handle_exit)",
)
UVICORN_TESTS = "tests/chatsite/test_uvicorn_contract.py, test_websocket_protocol.py and test_send_buffer.py"

WRITTEN_FOR_DJANGO = "5.2."
DJANGO_SUBCLASSES = (
    "chatsite/server/handlers.py APIHandler (WSGIHandler.__call__, BaseHandler.load_middleware, resolve_request)",
)
DJANGO_TESTS = "tests/chatsite/test_django_internals.py"


def check_uvicorn_version():
    """Refuse to serve on a uvicorn whose internals the subclasses were not checked against."""
    if uvicorn.__version__ != WRITTEN_FOR_UVICORN:
        raise ImproperlyConfigured(
            f"The web server was written for uvicorn {WRITTEN_FOR_UVICORN}, but uvicorn {uvicorn.__version__} is "
            f"installed. Install uvicorn=={WRITTEN_FOR_UVICORN} (requirements.txt), or check these against the new "
            f"version: {'; '.join(UVICORN_SUBCLASSES)}; run {UVICORN_TESTS}; then update WRITTEN_FOR_UVICORN "
            "in chatsite/server/versions.py."
        )


def check_django_version():
    """Refuse to serve HTTP on a Django whose handler internals the trimmed handler was not checked against."""
    if not django.__version__.startswith(WRITTEN_FOR_DJANGO):
        raise ImproperlyConfigured(
            f"The HTTP path was written for Django {WRITTEN_FOR_DJANGO}x, but Django {django.__version__} is "
            f"installed. Install Django {WRITTEN_FOR_DJANGO}x (requirements.txt), or check these against the new "
            f"version: {'; '.join(DJANGO_SUBCLASSES)}; run {DJANGO_TESTS}; then update WRITTEN_FOR_DJANGO "
            "in chatsite/server/versions.py."
        )
