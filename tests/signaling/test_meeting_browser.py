"""`/meeting` end to end: two headless Chromium pages connect over WebRTC through our signaling."""

import json
import urllib.request
import uuid

import pytest

from tests.support import chromium

TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream") as browser:
        yield browser


@pytest.fixture
def open_page(browser, live_server_process):
    """A /meeting page in its own browser context: its own cookies, like another person."""
    contexts = []

    def open_page():
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server_process.url}/meeting")
        return page

    yield open_page
    for context in contexts:
        context.close()


def unique(name):
    # The live server's database is shared by the session, so names must not repeat.
    return f"{name}-{uuid.uuid4().hex[:8]}"


def register(page, username):
    page.fill("#username", username)
    page.click("#register-form button")
    expect(page.locator("#socket-state")).to_have_text("open")


def expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def test_two_browsers_call_each_other_and_chat_over_the_data_channel(open_page):
    alice, bob = unique("alice"), unique("bob")
    alice_page, bob_page = open_page(), open_page()
    register(alice_page, alice)
    register(bob_page, bob)

    alice_page.click(f'button[data-call="{bob}"]')  # appears when the online list polls

    for page in (alice_page, bob_page):
        expect(page.locator("#connection-state")).to_have_text("connected")
        expect(page.locator("#channel-state")).to_have_text("open")
    assert bob_page.locator("#peer").text_content() == alice
    assert alice_page.evaluate("pc.connectionState") == "connected"
    # The fake camera is a camera: video flows both ways, not only the data channel.
    for page in (alice_page, bob_page):
        page.wait_for_function("document.getElementById('remote-video').srcObject?.getVideoTracks().length > 0")

    alice_page.fill("#chat-input", "hello over <b>WebRTC</b>")
    alice_page.press("#chat-input", "Enter")
    expect(bob_page.locator("#chat-log")).to_contain_text(f"{alice}: hello over <b>WebRTC</b>")
    assert bob_page.locator("#chat-log b").count() == 0  # shown as text, never parsed as HTML

    bob_page.fill("#chat-input", "and back")
    bob_page.press("#chat-input", "Enter")
    expect(alice_page.locator("#chat-log")).to_contain_text(f"{bob}: and back")


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
    expect(second.locator("#socket-state")).to_have_text("closed")
    expect(first.locator("#socket-state")).to_have_text("open")


def test_the_page_says_target_not_found_for_someone_offline(open_page):
    page = open_page()
    register(page, unique("dave"))

    page.fill("#call-name", "nobody-online")
    page.press("#call-name", "Enter")

    expect(page.locator("#notice")).to_contain_text("nobody-online is not online (TARGET_NOT_FOUND)")
    expect(page.locator("#connection-state")).to_have_text("idle")


def test_the_page_says_kicked_when_the_admin_kicks_and_can_connect_again(open_page, live_server_process):
    page = open_page()
    register(page, unique("erin"))

    request = urllib.request.Request(f"{live_server_process.url}/v1/kick-active-users", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # the live server runs with DEBUG on
        assert json.load(response)["kicked"] >= 1

    expect(page.locator("#notice")).to_contain_text("KICKED")
    expect(page.locator("#socket-state")).to_have_text("closed")
    page.click("#reconnect")
    expect(page.locator("#socket-state")).to_have_text("open")
