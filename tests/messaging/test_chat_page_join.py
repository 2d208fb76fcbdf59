"""Joining on the chat page in headless Chromium: what shows before and after, Join twice, refused names."""

import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.support import chromium

pytestmark = pytest.mark.browser

# Every WebSocket the page opens, so a test can count the ones still open.
COUNT_SOCKETS = """
window.sockets = [];
const PageWebSocket = window.WebSocket;
window.WebSocket = class extends PageWebSocket {
  constructor(...args) { super(...args); window.sockets.push(this); }
};
"""
OPEN_SOCKETS = "window.sockets.filter((s) => s.readyState <= WebSocket.OPEN).map((s) => s.url)"


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def chat_page(browser, live_server_process):
    def open_page(**options):
        page = browser.new_page(**options)
        page.add_init_script(COUNT_SOCKETS)
        page.goto(f"{live_server_process.url}/chat/")
        return page

    return open_page


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def join(page, name):
    page.fill("#username", name)
    page.click("#join")


def reserve_nickname(server, nickname):
    """Take `nickname` in the token dialect, as an ics-message-server client does first."""
    request = urllib.request.Request(f"{server.url}/auth?nickname={nickname}", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def reserve_nickname_once_free(server, nickname, patience=3.0):
    deadline = time.monotonic() + patience
    while True:
        try:
            return reserve_nickname(server, nickname)
        except urllib.error.HTTPError as error:
            if error.code != 403 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_before_joining_only_the_join_form_shows_and_its_name_field_is_not_page_wide(chat_page):
    page = chat_page(viewport={"width": 1280, "height": 800})
    assert page.locator("#username").is_visible()
    assert not page.locator("#chat").is_visible()
    assert not page.locator("#text").is_visible()
    assert page.locator("#username").bounding_box()["width"] < 400


def test_after_joining_the_chat_shows_and_the_join_form_goes(chat_page):
    page = chat_page()
    join(page, unique("joiner"))
    page.wait_for_selector("#chat", state="visible")
    assert not page.locator("#login").is_visible()
    assert page.locator("#leave").is_visible()
    assert page.locator("#status").text_content().startswith("Connected as joiner-")
    assert len(page.evaluate(OPEN_SOCKETS)) == 1


def test_join_submitted_twice_opens_one_socket(chat_page):
    page = chat_page()
    page.fill("#username", unique("twice"))
    page.evaluate("const form = document.getElementById('login'); form.requestSubmit(); form.requestSubmit();")
    page.wait_for_selector("#chat", state="visible")
    assert len(page.evaluate(OPEN_SOCKETS)) == 1


def test_leaving_and_joining_as_another_name_closes_the_first_socket(chat_page):
    page = chat_page()
    first, second = unique("first"), unique("second")
    join(page, first)
    page.wait_for_selector("#chat", state="visible")
    page.click("#leave")
    assert page.locator("#login").is_visible()
    join(page, second)
    page.wait_for_selector("#chat", state="visible")
    (still_open,) = page.evaluate(OPEN_SOCKETS)
    assert still_open.endswith(f"username={second}")


def test_joining_as_system_says_why_and_does_not_connect(chat_page):
    page = chat_page()
    join(page, "system")
    page.wait_for_selector("#status.error")
    assert page.locator("#status").text_content() == (
        "Cannot join as system: username system is reserved. Pick another name."
    )
    assert page.locator("#login").is_visible()
    assert not page.locator("#chat").is_visible()
    assert page.evaluate("window.sockets.length") == 0


def test_joining_as_a_token_users_nickname_says_why(chat_page, live_server_process):
    nickname = unique("held")
    reserve_nickname(live_server_process, nickname)
    page = chat_page()
    join(page, nickname)
    page.wait_for_selector("#status.error")
    assert "held by a token-dialect chat session" in page.locator("#status").text_content()
    assert page.evaluate("window.sockets.length") == 0


def test_a_name_taken_while_disconnected_stops_the_reconnecting_and_says_why(chat_page, live_server_process):
    name = unique("dropped")
    page = chat_page()
    join(page, name)
    page.wait_for_selector("#chat", state="visible")
    # While this page is away, a token-dialect user takes the name; the page's reconnect is refused.
    # One name, one speaker: the name is free only once the server has seen the socket go,
    # and the page's first retry waits long enough (5 s) for the token user to get in first.
    # The token user waits for the page to have found its name still free, or it could take
    # the name before the page's first look and the page would never try again.
    page.evaluate("state.retry = 5000")
    page.evaluate("state.socket.close()")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Disconnected')")
    reserve_nickname_once_free(live_server_process, name)
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Cannot join')")
    assert page.locator("#status").text_content() == (
        f"Cannot join as {name}: username {name} is held by a token-dialect chat session. Pick another name."
    )
    assert page.locator("#login").is_visible()
    assert page.evaluate("window.sockets.length") == 2  # the first socket and the refused return, no more
