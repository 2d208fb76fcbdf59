"""Calls through a real TURN relay (Debian's coturn), and calls that cannot connect, in headless Chromium.

The server hands out `iceTransportPolicy: "relay"`, so a browser may only use relay candidates: a
call connects through coturn with the credentials of `GET /v1/ice-servers`, or not at all.
"""

import re
import secrets
import socket
import time

import pytest

from signaling.ice import turn_credential
from tests.conftest import start_server
from tests.signaling.meeting_pages import (
    call_state,
    connected_call,
    expect,
    meeting_browser,
    page_opener,
    register,
    ring,
    unique,
)
from tests.support import TurnServer

pytestmark = pytest.mark.browser

SECRET = secrets.token_hex(32)
CONNECT_TIMEOUT = 2  # seconds; the black-hole server's, so its failure comes soon

# The candidate types of the pair ICE selected, as RTCPeerConnection.getStats() reports them.
SELECTED_CANDIDATE_TYPES = """
async () => {
  const stats = await call.pc.getStats();
  for (const report of stats.values()) {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      const pair = stats.get(report.selectedCandidatePairId);
      return [stats.get(pair.localCandidateId).candidateType, stats.get(pair.remoteCandidateId).candidateType];
    }
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def browser():
    with meeting_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    relay = TurnServer(tmp_path_factory.mktemp("coturn"), SECRET).start()
    yield relay
    relay.stop()


@pytest.fixture(scope="module")
def relay_server(tmp_path_factory, turn):
    server = start_server(
        tmp_path_factory,
        "relay",
        SIGNALING_ICE_SERVERS=turn.url,
        SIGNALING_TURN_SECRET=SECRET,
        SIGNALING_TURN_CREDENTIAL_TTL=300,
        SIGNALING_ICE_TRANSPORT_POLICY="relay",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def black_hole():
    """A UDP port that takes every packet and answers none: a relay behind a firewall that drops all."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield sink.getsockname()[1]


@pytest.fixture(scope="module")
def black_hole_server(tmp_path_factory, black_hole):
    server = start_server(
        tmp_path_factory,
        "black_hole",
        SIGNALING_ICE_SERVERS=f"turn:127.0.0.1:{black_hole}?transport=udp",
        SIGNALING_TURN_SECRET="black-hole-" + "x" * 32,
        SIGNALING_ICE_TRANSPORT_POLICY="relay",
        SIGNALING_CONNECT_TIMEOUT=CONNECT_TIMEOUT,
    )
    yield server
    server.stop()


@pytest.fixture
def open_page(browser, relay_server):
    opener = page_opener(browser, relay_server)
    yield opener
    opener.close()


def two_users(open_page):
    names = unique("alice"), unique("bob")
    pages = open_page(), open_page()
    for page, name in zip(pages, names, strict=True):
        register(page, name)
    return names, pages


def test_a_relay_only_call_connects_through_coturn_with_our_short_lived_credentials(open_page, turn):
    (alice, bob), (alice_page, bob_page) = two_users(open_page)

    connected_call(alice_page, bob_page, bob)

    for page in (alice_page, bob_page):
        expect(page.locator("#call-path")).to_have_attribute("data-path", "relayed")
        expect(page.locator("#call-path")).to_contain_text("through the relay (TURN) server")
        assert page.evaluate(SELECTED_CANDIDATE_TYPES) == ["relay", "relay"]
    alice_page.fill("#chat-input", "through the relay")
    alice_page.press("#chat-input", "Enter")
    expect(bob_page.locator("#chat-log")).to_contain_text(f"{alice}: through the relay")
    # coturn took a credential that names each user (`<expiry>:<name>`) and gave each a relay.
    log = turn.read_log()
    for name in (alice, bob):
        allocated = rf"user <\d+:{re.escape(name)}>: incoming packet ALLOCATE processed, success"
        assert re.search(allocated, log), f"coturn allocated no relay for {name}:\n{log[-3000:]}"


def hand_out(page, turn, secret, name, expires):
    """Give `page` this TURN credential instead of the server's, as a stolen or forged one would come."""
    username, password = turn_credential(secret, name, expires)
    configuration = {
        "iceServers": [{"urls": [turn.url], "username": username, "credential": password}],
        "iceTransportPolicy": "relay",
        "expires": expires,
    }
    page.route("**/v1/ice-servers", lambda route: route.fulfill(json=configuration))


@pytest.mark.parametrize(
    ("secret", "lifetime"),
    [
        pytest.param(secrets.token_hex(32), 300, id="signed-with-another-secret"),
        pytest.param(SECRET, -60, id="expired-a-minute-ago"),
    ],
)
def test_a_credential_coturn_refuses_fails_the_call_with_a_clear_message(open_page, turn, secret, lifetime):
    (alice, bob), (alice_page, bob_page) = two_users(open_page)
    expires = int(time.time()) + lifetime
    for page, name in ((alice_page, alice), (bob_page, bob)):
        hand_out(page, turn, secret, name, expires)

    ring(alice_page, bob_page, bob)
    bob_page.click("#accept")

    expect(call_state(alice_page)).to_have_attribute("data-state", "ended")
    expect(alice_page.locator("#call-status")).to_have_class("error")
    expect(alice_page.locator("#call-status")).to_contain_text(f"The call with {bob} could not connect")
    # Whichever side gives up first tells the other, so each says why or that it failed.
    statuses = [page.locator("#call-status").text_content() for page in (alice_page, bob_page)]
    assert any("the relay (TURN) server refused this call's credentials" in status for status in statuses), statuses
    expect(call_state(bob_page)).to_have_attribute("data-state", "ended")
    expect(bob_page.locator("#call-status")).to_contain_text(f"The call with {alice} could not connect")


def test_the_same_hand_out_with_a_good_credential_connects(open_page, turn):
    """Guards the test above: the handed-out configuration works when only the credential is right."""
    (alice, bob), (alice_page, bob_page) = two_users(open_page)
    expires = int(time.time()) + 300
    for page, name in ((alice_page, alice), (bob_page, bob)):
        hand_out(page, turn, SECRET, name, expires)

    connected_call(alice_page, bob_page, bob)

    expect(alice_page.locator("#call-path")).to_have_attribute("data-path", "relayed")


def test_a_call_that_never_connects_says_so_within_the_connect_timeout(browser, black_hole_server):
    open_page = page_opener(browser, black_hole_server)
    try:
        (alice, bob), (alice_page, bob_page) = two_users(open_page)
        ring(alice_page, bob_page, bob)

        bob_page.click("#accept")

        for page, peer in ((alice_page, bob), (bob_page, alice)):
            expect(call_state(page)).to_have_attribute("data-state", "ended")
            expect(page.locator("#call-status")).to_contain_text(f"The call with {peer} could not connect")
            page.wait_for_function("document.getElementById('local-video').srcObject === null")  # camera off
        statuses = [page.locator("#call-status").text_content() for page in (alice_page, bob_page)]
        gave_up = f"nothing got through within {CONNECT_TIMEOUT} seconds."
        assert any(status.endswith(gave_up) for status in statuses), statuses
    finally:
        open_page.close()
