"""WS_ALLOWED_ORIGINS: which browser origins may open a WebSocket (docs/protocols/websockets.md).

The rule itself is pure (chatsite/core/origin.py); the end-to-end test runs a server configured
for the ics repository's `scripts/test-connection`, which sends `Origin: http://example.com:80`.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chatsite.core.origin import BrowserOriginValidator, origin_allowed
from chatsite.env import env_origins
from tests.conftest import start_server

DEFAULT_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
CONFIGURED = ["http://example.com", "https://*.example.com", "http://chat.example.org:*", "http://10.0.0.1:8000"]


def allowed(origin, entries=CONFIGURED, hosts=DEFAULT_HOSTS):
    return origin_allowed(origin, entries, hosts)


@pytest.mark.parametrize(
    "origin",
    [
        "http://example.com",
        "http://example.com:80",  # the default port, written out as the ics script does
        "HTTP://Example.COM",
        "https://www.example.com",
        "https://a.b.example.com:443",
        "http://chat.example.org",
        "http://chat.example.org:8080",
        "http://10.0.0.1:8000",
    ],
)
def test_an_origin_on_the_list_is_allowed(origin):
    assert allowed(origin)


@pytest.mark.parametrize(
    "origin",
    [
        "http://www.example.com",  # subdomains are listed for https only
        "http://example.com:8080",  # another port, and the entry has no `:*`
        "https://example.com",  # another scheme; and `*.` is for subdomains only
        "https://www.example.com:8443",
        "http://www.example.org",
        "http://10.0.0.1:8001",
        "http://localhost:8000",  # ALLOWED_HOSTS no longer applies once the list is set
        "null",
    ],
)
def test_an_origin_off_the_list_is_refused(origin):
    assert not allowed(origin)


@pytest.mark.parametrize(
    "origin",
    [
        "http://example.com.evil.example",
        "http://evilexample.com",
        "https://evil-example.com",
        "https://www.example.com.evil.example",
        "http://example.com@evil.example",
        "http://evil.example@example.com",  # a user part is no part of an origin
        "http://example.com/path",
        "http://example.com:80abc",
        "ftp://example.com",
        "",
    ],
)
def test_a_lookalike_of_a_listed_origin_is_refused(origin):
    assert not allowed(origin)


def test_a_lone_star_allows_every_origin():
    for origin in ("https://evil.example", "http://anything:1234", "null"):
        assert allowed(origin, entries=["*"])


def test_a_handshake_without_origin_is_allowed_whatever_the_list():
    assert allowed(None)
    assert allowed(None, entries=[])


@pytest.mark.parametrize("origin", ["http://localhost:8000", "https://127.0.0.1", "http://[::1]:9", "ws://localhost"])
def test_by_default_the_allowed_hosts_are_allowed_on_any_port(origin):
    assert allowed(origin, entries=[])


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example:8000", "http://127.0.0.1@evil.example", "null"]
)
def test_by_default_other_hosts_are_refused(origin):
    assert not allowed(origin, entries=[])


def test_the_validator_reads_the_setting(settings):
    settings.WS_ALLOWED_ORIGINS = ["http://example.com"]
    assert BrowserOriginValidator.allows(b"http://example.com:80")
    assert not BrowserOriginValidator.allows(b"http://127.0.0.1:8000")

    settings.WS_ALLOWED_ORIGINS = []
    assert BrowserOriginValidator.allows(b"http://127.0.0.1:8000")
    assert not BrowserOriginValidator.allows(b"http://example.com:80")


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("example.com", "write scheme://host"),
        ("https://ex*.com", "whole subdomain"),
        ("http://example.com/chat", "write scheme://host"),
        ("https://*.example.com, gopher://x", "write scheme://host"),
    ],
)
def test_a_malformed_entry_stops_start_up_with_the_fix(monkeypatch, value, fix):
    monkeypatch.setenv("WS_ALLOWED_ORIGINS", value)
    with pytest.raises(ImproperlyConfigured, match=fix):
        env_origins("WS_ALLOWED_ORIGINS")


def test_entries_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("WS_ALLOWED_ORIGINS", " http://example.com ,https://*.example.com,, ")
    assert env_origins("WS_ALLOWED_ORIGINS") == ["http://example.com", "https://*.example.com"]


# --- Over a real socket ----------------------------------------------------------------


@pytest.fixture(scope="module")
def example_com_server(tmp_path_factory):
    server = start_server(tmp_path_factory, "origins", WS_ALLOWED_ORIGINS="http://example.com,https://*.example.com")
    yield server
    server.stop()


async def test_the_ics_scripts_origin_is_served_when_listed(example_com_server):
    url = f"{example_com_server.ws_url}/ws?username=ics-script"

    async with connect(url, origin="http://example.com:80") as ws:
        await ws.send('{"ping": true}')
        assert await ws.recv() == '{"pong":true}'


@pytest.mark.parametrize("origin", ["https://evil.example", "https://example.com", "http://127.0.0.1"])
async def test_an_origin_off_the_list_is_refused_over_a_real_socket(example_com_server, origin):
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(f"{example_com_server.ws_url}/ws?username=off-list", origin=origin):
            pass
    assert refusal.value.response.status_code == 403


# --- The project's own origin stays allowed ----------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),  # `make run`'s pages
        ("https://chat.localhost", "chat.localhost"),  # default ports: neither says it
        ("http://LOCALHOST:8000", "localhost:8000"),
    ],
)
def test_a_page_of_this_server_is_allowed_whatever_the_list(origin, host):
    assert origin_allowed(origin, ["http://example.com"], ["127.0.0.1", ".localhost"], host)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8001", "127.0.0.1:8000"),  # another port of the same host is another origin
        ("http://rebound.example:8000", "rebound.example:8000"),  # a name ALLOWED_HOSTS does not list
        ("http://127.0.0.1:8000/", "127.0.0.1:8000"),  # not an origin
        ("null", "127.0.0.1:8000"),
    ],
)
def test_only_the_exact_origin_of_an_allowed_host_counts_as_this_server(origin, host):
    assert not origin_allowed(origin, ["http://example.com"], ["127.0.0.1"], host)


async def test_this_servers_own_page_may_open_a_socket_when_another_origin_is_listed(example_com_server):
    async with connect(f"{example_com_server.ws_url}/ws?username=own-page", origin=example_com_server.url) as ws:
        await ws.send('{"ping": true}')
        assert await ws.recv() == '{"pong":true}'
