"""ASGI entry point: HTTP through Django, WebSockets through each app's routing."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatsite.core.limits import ConnectionsPerAddress  # noqa: E402
from chatsite.core.origin import BrowserOriginValidator  # noqa: E402
from chatsite.routing import websocket_urlpatterns  # noqa: E402
from chatsite.server.http_path import http_application  # noqa: E402
from nameserver.announce import start_node_announcer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application(),  # the HTTP path's one boundary (chatsite/server/http_path.py)
        "websocket": BrowserOriginValidator(ConnectionsPerAddress(URLRouter(websocket_urlpatterns))),
    }
)

# Only ASGI servers import this module, so this is "when the web node starts".
start_node_announcer()

# Everything imported by now lives as long as the process: take it out of the cyclic
# collector's full passes, whose pauses were the chat's p99 (bench/README.md, "What changed, and why").
gc.freeze()
