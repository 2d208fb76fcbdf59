"""Who may read `GET /metrics`: a client whose own address (REMOTE_ADDR) is inside METRICS_ALLOWED_NETS."""

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatsite.env import env_networks

pytestmark = pytest.mark.django_db

HOST = {"HTTP_HOST": "127.0.0.1"}
TEN = [ipaddress.ip_network("10.0.0.0/8")]


def status_for(client, address, **headers):
    return client.get("/metrics", REMOTE_ADDR=address, **HOST, **headers).status_code


def test_metrics_are_refused_to_other_networks_unless_allowed(client, settings):
    outsider = {"REMOTE_ADDR": "10.1.2.3", "HTTP_HOST": "127.0.0.1"}
    refused = client.get("/metrics", **outsider)
    assert refused.status_code == 403
    assert "METRICS_ALLOWED_NETS" in refused.content.decode()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1").status_code == 200

    settings.METRICS_ALLOWED_NETS = [ipaddress.ip_network("10.0.0.0/8")]
    allowed = client.get("/metrics", **outsider)
    assert allowed.status_code == 200
    assert b"chatsite_chat_messages_total" in allowed.content


def test_a_malformed_metrics_network_stops_start_up_saying_how_to_write_one(monkeypatch):
    monkeypatch.setenv("METRICS_ALLOWED_NETS", "10.0.0.0/8, 10.0.0.0/33")
    with pytest.raises(
        ImproperlyConfigured, match=r"'10\.0\.0\.0/33' is not an IP network: write it like 10\.0\.0\.0/8"
    ):
        env_networks("METRICS_ALLOWED_NETS", [])


def test_a_client_address_that_is_not_an_ip_is_refused(client, settings):
    # A server behind a Unix socket, or a test client, may give anything here.
    settings.METRICS_ALLOWED_NETS = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    for address in ("", "unix:/run/chatsite.sock", "localhost", "10.1.2.3:4000", "999.1.1.1"):
        assert status_for(client, address) == 403, address
    assert status_for(client, "10.1.2.3") == 200


def test_an_ipv4_mapped_address_is_allowed_as_the_ipv4_address_it_maps(client, settings):
    # A dual-stack listener reports IPv4 clients this way.
    settings.METRICS_ALLOWED_NETS = TEN
    assert status_for(client, "::ffff:10.1.2.3") == 200
    assert status_for(client, "::ffff:192.168.1.1") == 403


def test_a_forwarded_for_header_does_not_let_an_outsider_in(client, settings):
    settings.METRICS_ALLOWED_NETS = TEN
    spoofed = {"HTTP_X_FORWARDED_FOR": "10.1.2.3", "HTTP_X_REAL_IP": "10.1.2.3"}
    assert status_for(client, "192.168.1.1", **spoofed) == 403
    assert status_for(client, "10.1.2.3", HTTP_X_FORWARDED_FOR="192.168.1.1") == 200
