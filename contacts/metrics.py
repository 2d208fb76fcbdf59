"""A contacts replica's Prometheus figures, on a port of its own (`contact_replica --metrics-listen`).

The figures are read from the replica when scraped, on the metrics server's thread, so the
write path keeps only a count per batch. A replica process is no web process: it has no
`/metrics` of Django's to share.
"""

import socket
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer

from chatsite.core.networks import is_in_networks


class ReplicaFigures:
    """The figures of one ReplicaServer."""

    def __init__(self, server):
        self.server = server

    def describe(self):
        return []

    def collect(self):
        server, replica = self.server, self.server.replica
        up = GaugeMetricFamily(
            "contacts_peer_up",
            "1 while this replica's link to the peer it dials at this address is up.",
            labels=["peer"],
        )
        for address, linked in dict(server.peer_up).items():
            up.add_metric([address], int(linked))
        yield up
        if replica.clock is not None:  # None until the replica has opened (the metrics port is bound first)
            yield GaugeMetricFamily("contacts_clock", "This replica's Lamport clock.", replica.clock.value)
        yield CounterMetricFamily(
            "contacts_writes_applied", "Updates and deletes applied, local and received.", replica.writes_applied
        )
        catchup = GaugeMetricFamily(
            "contacts_catchup_seconds",
            "How long the newest peer link took to catch up: from its opening until the writes it "
            "brought at first were applied. Absent until a link has caught up.",
        )
        if replica.last_catchup_seconds is not None:
            catchup.add_metric([], replica.last_catchup_seconds)
        yield catchup


def serve_metrics(server, host, port):
    """Serve the figures of a ReplicaServer over HTTP on a daemon thread; returns the HTTP server (call shutdown()).

    Only to METRICS_ALLOWED_NETS, as the web process's `/metrics`: the others get 403.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReplicaFigures(server))
    figures = make_wsgi_app(registry)

    def allowed_only(environ, start_response):
        if not is_in_networks(environ.get("REMOTE_ADDR", ""), settings.METRICS_ALLOWED_NETS):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Metrics are served to METRICS_ALLOWED_NETS only (loopback unless set).\n"]
        return figures(environ, start_response)

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    http_server = make_server(host, port, allowed_only, Server, handler_class=QuietHandler)
    threading.Thread(target=http_server.serve_forever, name="replica-metrics", daemon=True).start()
    return http_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """No access log: a scrape every few seconds is not news."""
