"""The web process's Prometheus figures, and the text `GET /metrics` answers.

Counters and per-process gauges are module globals, bumped where the event happens. What
the database knows (live name-server clients, active signaling users) is read when
scraped instead, so nothing on a hot path keeps it, and every worker and node reports the
same figure: it is the deployment's, not the process's (do not sum it across nodes).
Each app registers those gauges of its own (`database_gauge`); this module imports no app.

Several workers (`WEB_WORKERS`): prometheus-client's multiprocess mode, which
`PROMETHEUS_MULTIPROC_DIR` switches on before this module is first imported. `manage.py
uvicorn` sets it for its workers; each writes its values to files there, and a scrape,
answered by whichever worker accepted it, sums them.
"""

import logging
import os

from django.db import DatabaseError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

# The *_created series double every counter for a figure Prometheus does not need.
disable_created_metrics()

# `livesum`: in multiprocess mode, the sum over the workers alive now.
WEBSOCKET_CONNECTIONS = Gauge(
    "chatsite_websocket_connections", "Open WebSockets by path.", ["path"], multiprocess_mode="livesum"
)
CHAT_MESSAGES = Counter("chatsite_chat_messages", "Chat messages stored by this node.")
CHAT_DELIVERIES = Counter(
    "chatsite_chat_deliveries", "Chat frames handed to this node's sockets: a frame for 100 sockets counts 100."
)
WEBSOCKET_CLOSED = Counter("chatsite_websocket_closed", "WebSockets the server closed, by reason.", ["reason"])
# The rate limit refuses a frame with an error frame and keeps the socket open, so it is
# counted here rather than among the closes.
WEBSOCKET_FRAMES_REFUSED = Counter(
    "chatsite_websocket_frames_refused", "Client frames refused without closing the socket, by reason.", ["reason"]
)
# Connections refused or cut before a request reached the application (chatsite/server/http_protocol.py).
HTTP_CONNECTIONS_REFUSED = Counter(
    "chatsite_http_connections_refused",
    "HTTP connections refused or cut before the application had an answer, by reason.",
    ["reason"],
)
SIGNALING_FRAMES_FORWARDED = Counter(
    "chatsite_signaling_frames_forwarded", "Signaling frames handed to the channel layer for their target."
)

TOO_BIG, SLOW_CLIENT, KICKED = "too_big", "slow_client", "kicked"
INTERNAL_ERROR = "internal_error"  # a consumer raised: closed with 1011 (chatsite/core/consumers.py)
RATE = "rate"
for _reason in (TOO_BIG, SLOW_CLIENT, KICKED, INTERNAL_ERROR):
    WEBSOCKET_CLOSED.labels(_reason)  # listed at 0 from the start, so a dashboard's rate() has a series
WEBSOCKET_FRAMES_REFUSED.labels(RATE)
TOO_MANY_CONNECTIONS, HEAD_TIMEOUT, HEAD_TOO_LARGE = "too_many", "head_timeout", "head_too_large"
BODY_TIMEOUT = "body_timeout"
for _reason in (TOO_MANY_CONNECTIONS, HEAD_TIMEOUT, HEAD_TOO_LARGE, BODY_TIMEOUT):
    HTTP_CONNECTIONS_REFUSED.labels(_reason)


def websocket_closed(reason):
    WEBSOCKET_CLOSED.labels(reason).inc()


def http_connection_refused(reason):
    HTTP_CONNECTIONS_REFUSED.labels(reason).inc()


MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir():
    """The directory of multiprocess mode, or None: the one place the project reads the variable.

    prometheus-client reads it too, when a metric is made: it must be set before this
    module is first imported (`chatsite.server.web_workers` sets it for its workers).
    """
    return os.environ.get(MULTIPROCESS_DIR) or None


def database_gauge(name, documentation, read):
    """Report `read()` as gauge `name` on every scrape: a figure of the deployment that its database knows.

    Each app registers its own from its `AppConfig.ready`; registering a name again replaces it.
    """
    _database_gauges[name] = (documentation, read)


_database_gauges = {}  # name -> (documentation, read)


class DatabaseFigures:
    """The registered database gauges, read when scraped: all of them, or none if the database fails."""

    def describe(self):
        return []

    def collect(self):
        try:
            values = [(name, documentation, read()) for name, (documentation, read) in _database_gauges.items()]
        except DatabaseError:
            # The process's own figures are still worth a scrape; /readyz says what is wrong.
            log.warning("metrics: the database does not answer; its gauges are left out", exc_info=True)
            return
        for name, documentation, value in values:
            yield GaugeMetricFamily(name, documentation, value)


_database_registry = CollectorRegistry(auto_describe=False)
_database_registry.register(DatabaseFigures())


def process_registry():
    """This process's figures, or with several workers every worker's, summed."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition():
    """`(body, content type)` of a scrape: the Prometheus text format."""
    return generate_latest(process_registry()) + generate_latest(_database_registry), CONTENT_TYPE_LATEST
