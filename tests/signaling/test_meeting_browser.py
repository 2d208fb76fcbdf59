"""`/meeting` end to end: two headless Chromium pages ring, accept and connect over WebRTC through our signaling."""

import json
import urllib.request

import pytest

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

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with meeting_browser() as browser:
        yield browser


@pytest.fixture
def open_page(browser, live_server_process):
    opener = page_opener(browser, live_server_process)
    yield opener
    opener.close()


def test_a_call_rings_until_accepted_and_only_then_turns_the_cameras_on(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)

    ring(alice_page, bob_page, bob)

    expect(bob_page.locator("#call-status")).to_have_text(f"{alice} is calling you.")
    expect(bob_page.locator("#accept")).to_be_visible()
    expect(call_state(alice_page)).to_have_attribute("data-state", "calling")
    expect(alice_page.locator("#call-status")).to_contain_text(f"Calling {bob}")
    for page in (alice_page, bob_page):
        assert page.evaluate("window.cameraRequests") == 0
        assert page.evaluate("call.pc") is None  # no offer made or answered while it rings

    bob_page.click("#accept")

    for page in (alice_page, bob_page):
        expect(call_state(page)).to_have_attribute("data-state", "connected")
        assert page.evaluate("window.cameraRequests") == 1
        # The fake camera is a camera: video flows both ways, not only the data channel.
        page.wait_for_function("document.getElementById('remote-video').srcObject?.getVideoTracks().length > 0")
    expect(alice_page.locator("#call-status")).to_have_text(f"In a call with {bob}.")  # "Calling…" is gone
    expect(bob_page.locator("#call-status")).to_have_text(f"In a call with {alice}.")
    assert alice_page.evaluate("call.pc.connectionState") == "connected"


def test_the_videos_are_labelled_and_the_path_says_direct(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)

    connected_call(alice_page, bob_page, bob)

    expect(alice_page.locator("#local-label")).to_have_text("You")
    expect(alice_page.locator("#remote-label")).to_have_text(bob)
    expect(bob_page.locator("#remote-label")).to_have_text(alice)
    for page in (alice_page, bob_page):
        # No ICE server is configured on the live server: the browsers reach each other directly.
        expect(page.locator("#call-path")).to_have_attribute("data-path", "direct")
        expect(page.locator("#call-path")).to_contain_text("directly between your browsers")


def test_two_browsers_in_a_call_chat_over_the_data_channel(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)
    connected_call(alice_page, bob_page, bob)

    alice_page.fill("#chat-input", "hello over <b>WebRTC</b>")
    alice_page.press("#chat-input", "Enter")
    expect(bob_page.locator("#chat-log")).to_contain_text(f"{alice}: hello over <b>WebRTC</b>")
    assert bob_page.locator("#chat-log b").count() == 0  # shown as text, never parsed as HTML

    bob_page.fill("#chat-input", "and back")
    bob_page.press("#chat-input", "Enter")
    expect(alice_page.locator("#chat-log")).to_contain_text(f"{bob}: and back")


def test_a_declined_call_tells_the_caller_and_never_asks_for_a_camera(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)
    ring(alice_page, bob_page, bob)

    bob_page.click("#decline")

    expect(alice_page.locator("#call-status")).to_have_text(f"{bob} declined the call.")
    expect(call_state(alice_page)).to_have_attribute("data-state", "ended")
    expect(bob_page.locator("#accept")).to_be_hidden()
    for page in (alice_page, bob_page):
        assert page.evaluate("window.cameraRequests") == 0


def test_a_call_cancelled_while_ringing_shows_as_missed(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)
    ring(alice_page, bob_page, bob)

    alice_page.click("#hangup")  # labelled "Cancel" while it rings

    expect(bob_page.locator("#call-status")).to_have_text(f"Missed call from {alice}.")
    expect(bob_page.locator("#accept")).to_be_hidden()
    expect(alice_page.locator("#call-status")).to_have_text(f"You cancelled the call to {bob}.")


def test_an_offer_nobody_accepted_is_never_answered(open_page):
    """A hostile caller skips the ring and sends an offer: the page must not answer it, nor open the camera."""
    mallory, bob = unique("mallory"), unique("bob")
    mallory_page, bob_page = open_page(), open_page()
    register(mallory_page, mallory)
    register(bob_page, bob)
    ring(mallory_page, bob_page, bob)

    mallory_page.evaluate(
        """async () => {
            const pc = new RTCPeerConnection();
            pc.createDataChannel("x");
            await pc.setLocalDescription(await pc.createOffer());
            signal(call.peer, "offer", {description: pc.localDescription});                  // no call id
            signal(call.peer, "offer", {call: call.id, description: pc.localDescription});  // not accepted yet
            signal(call.peer, "offer", pc.localDescription);                                // the old page's shape
        }"""
    )
    mallory_page.click("#hangup")  # after the offers, in order: once bob shows it, he has handled them

    expect(bob_page.locator("#call-status")).to_have_text(f"Missed call from {mallory}.")
    assert bob_page.evaluate("call.pc") is None
    assert bob_page.evaluate("window.cameraRequests") == 0


def test_hanging_up_ends_the_call_on_both_sides_and_turns_the_camera_off(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)
    connected_call(alice_page, bob_page, bob)

    bob_page.click("#hangup")

    expect(alice_page.locator("#call-status")).to_have_text(f"{bob} hung up.")
    for page in (alice_page, bob_page):
        expect(call_state(page)).to_have_attribute("data-state", "ended")
        page.wait_for_function("document.getElementById('local-video').srcObject === null")
        expect(page.locator("#chat-input")).to_be_disabled()


def test_someone_in_a_call_is_busy_for_a_third_caller(open_page):
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    alice_page, bob_page, carol_page = open_page(), open_page(), open_page()
    for page, name in ((alice_page, alice), (bob_page, bob), (carol_page, carol)):
        register(page, name)
    connected_call(alice_page, bob_page, bob)

    carol_page.click(f'button[data-call="{bob}"]')

    expect(carol_page.locator("#call-status")).to_have_text(f"{bob} is busy in another call.")
    expect(call_state(bob_page)).to_have_attribute("data-state", "connected")


def test_the_online_list_says_when_nobody_else_is_there(open_page):
    page = open_page()
    name = unique("lonely")
    # Other tests' users come and go on the shared server; this page sees only itself.
    page.route("**/v1/active-users", lambda route: route.fulfill(json={"users": [name]}))
    register(page, name)

    expect(page.locator("#online-empty")).to_have_text(
        "Nobody else is online right now. Open this page in another browser to call it."
    )
    expect(page.locator("#online")).to_contain_text(f"{name} (you)")


def test_the_page_says_taken_for_a_name_already_registered(open_page):
    carol = unique("carol")
    register(open_page(), carol)
    other = open_page()

    other.fill("#username", carol.upper())
    other.click("#register-form button")

    expect(other.locator("#notice")).to_contain_text("TAKEN")
    assert other.locator("#me-panel").is_hidden()


def test_a_second_tab_of_the_same_user_is_told_already_exists(open_page):
    first = open_page()
    register(first, unique("frank"))

    second = first.context.new_page()  # same browser context, same cookie
    second.goto(first.url)

    expect(second.locator("#notice")).to_contain_text("ALREADY_EXISTS")
    expect(second.locator("#socket-state")).to_have_text("offline")
    expect(first.locator("#socket-state")).to_have_text("online")


def test_the_page_says_target_not_found_for_someone_offline(open_page):
    page = open_page()
    register(page, unique("dave"))

    page.fill("#call-name", "nobody-online")
    page.press("#call-name", "Enter")

    expect(page.locator("#call-status")).to_have_text("nobody-online is not online (TARGET_NOT_FOUND).")
    expect(call_state(page)).to_have_attribute("data-state", "ended")


def test_the_page_says_kicked_when_the_admin_kicks_and_can_connect_again(open_page, live_server_process):
    page = open_page()
    register(page, unique("erin"))

    request = urllib.request.Request(f"{live_server_process.url}/v1/kick-active-users", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # the live server runs with DEBUG on
        assert json.load(response)["kicked"] >= 1

    expect(page.locator("#notice")).to_contain_text("KICKED")
    expect(page.locator("#socket-state")).to_have_text("offline")
    page.click("#reconnect")
    expect(page.locator("#socket-state")).to_have_text("online")
