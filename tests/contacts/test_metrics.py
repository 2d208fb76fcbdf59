"""`contact_replica --metrics-listen`: peers up, clock, writes applied and catch-up time, after real traffic."""

import http.client

from tests.contacts.conftest import eventually
from tests.support import figure


def test_a_replica_reports_its_peer_links_clock_writes_and_catchup(cluster):
    first = cluster.replica(start=False, metrics=True)
    second = cluster.replica(start=False, metrics=True)
    first.peers, second.peers = [second.port], [first.port]
    first.start()
    second_address = f"127.0.0.1:{second.port}"

    assert figure(first.metrics(), "contacts_peer_up", peer=second_address) == 0
    with first.client("ada") as client:
        for n in range(3):
            client.update(f"friend{n}", f"555-000{n}")
        assert len(client.list_all()) == 3  # answered once its own writes are applied
    figures = first.metrics()
    assert figure(figures, "contacts_writes_applied_total") == 3
    assert figure(figures, "contacts_clock") == 3

    second.start()
    eventually(lambda: figure(first.metrics(), "contacts_peer_up", peer=second_address) == 1)
    eventually(lambda: second.list_all("ada") == first.list_all("ada"))
    figures = eventually(second.metrics, done=lambda figures: ("contacts_catchup_seconds", ()) in figures)
    assert figure(figures, "contacts_peer_up", peer=f"127.0.0.1:{first.port}") == 1
    assert figure(figures, "contacts_writes_applied_total") >= 3  # the first's snapshot, once per link
    assert figure(figures, "contacts_clock") >= 3
    assert figure(figures, "contacts_catchup_seconds") > 0

    second.stop()
    eventually(lambda: figure(first.metrics(), "contacts_peer_up", peer=second_address) == 0)


def test_a_replicas_metrics_are_served_only_to_metrics_allowed_nets(cluster):
    replica = cluster.replica(metrics=True, METRICS_ALLOWED_NETS="127.0.0.1/32")

    def scrape_from(source):
        connection = http.client.HTTPConnection(
            "127.0.0.1", replica.metrics_port, timeout=10, source_address=(source, 0)
        )
        try:
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    status, body = scrape_from("127.0.0.2")
    assert status == 403
    assert "METRICS_ALLOWED_NETS" in body
    assert "contacts_clock" not in body
    status, body = scrape_from("127.0.0.1")
    assert status == 200
    assert "contacts_clock" in body
