"""The ICE settings are checked at start-up: a value no browser could use stops the server with the fix."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatsite.env import env_ice_settings_checked, env_ice_urls

SECRET = "x" * 32


@pytest.mark.parametrize(
    "urls",
    [
        "stun:stun.l.google.com:19302",
        "turn:127.0.0.1:3478?transport=udp, turns:turn.example.com:5349?transport=tcp",
        "turn:[2001:db8::1]:3478,stuns:stun.example.com",
    ],
)
def test_stun_and_turn_urls_a_browser_takes_are_kept(monkeypatch, urls):
    monkeypatch.setenv("SIGNALING_ICE_SERVERS", urls)

    assert env_ice_urls("SIGNALING_ICE_SERVERS") == [url.strip() for url in urls.split(",")]


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("turn.example.com:3478", "write stun:HOST"),
        ("https://turn.example.com", "write stun:HOST"),
        ("turn:", "write stun:HOST"),
        ("turn:turn.example.com:0", "port must be 1-65535"),
        ("turn:turn.example.com:65536", "port must be 1-65535"),
        ("stun:stun.example.com?transport=udp", "only turn: and turns: URLs take a query"),
        ("turn:turn.example.com?transport=sctp", "only \\?transport=udp or \\?transport=tcp"),
        ("turn:[not-ipv6]:3478", "not an IPv6 address"),
        ("turn:bad_host.example.com", "not a host name"),
        ("turn:<script>", "not a host name"),
    ],
)
def test_a_url_no_browser_takes_stops_start_up_with_the_fix(monkeypatch, url, fix):
    monkeypatch.setenv("SIGNALING_ICE_SERVERS", f"stun:stun.example.com,{url}")

    with pytest.raises(ImproperlyConfigured, match=f"SIGNALING_ICE_SERVERS: .*{fix}"):
        env_ice_urls("SIGNALING_ICE_SERVERS")


@pytest.mark.parametrize(
    ("urls", "secret", "ttl", "policy", "fix"),
    [
        (["turn:t.example.com"], "", 3600, "all", "set it to the relay's static-auth-secret"),
        (["stun:s.example.com"], SECRET, 3600, "all", "lists no turn: or turns: URL"),
        (["turn:t.example.com"], "short", 3600, "all", "at least 32 characters"),
        (["turn:t.example.com"], SECRET, 0, "all", "at least 1 second"),
        (["turn:t.example.com"], SECRET, 3600, "direct", "one of all, relay"),
        (["stun:s.example.com"], "", 3600, "relay", "needs a turn: or turns: URL"),
        ([], "", 3600, "relay", "needs a turn: or turns: URL"),
    ],
)
def test_settings_that_no_call_could_use_stop_start_up_with_the_fix(urls, secret, ttl, policy, fix):
    with pytest.raises(ImproperlyConfigured, match=fix):
        env_ice_settings_checked(urls, secret, ttl, policy)


@pytest.mark.parametrize(
    ("urls", "secret", "policy"),
    [
        ([], "", "all"),
        (["stun:s.example.com"], "", "all"),
        (["stun:s.example.com", "turn:t.example.com"], SECRET, "all"),
        (["turns:t.example.com:443?transport=tcp"], SECRET, "relay"),
    ],
)
def test_settings_that_work_start(urls, secret, policy):
    env_ice_settings_checked(urls, secret, 3600, policy)
