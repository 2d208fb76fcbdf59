"""A contacts replica's Prometheus figures, on a port of its own (`contact_replica --metrics-listen`).

The figures are read from the replica when scraped, on the metrics server's thread, so the
write path keeps only a count per batch. A replica process is no web process: it has no
`/metrics` of Django's to share.
"""

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


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
    """Serve the figures of a ReplicaServer over HTTP on a daemon thread; returns the HTTP server (call shutdown())."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReplicaFigures(server))
    http_server, _ = start_http_server(port, addr=host, registry=registry)
    return http_server
