"""Driving `/meeting` pages in headless Chromium: open, register, ring, connect (tests of the meeting page)."""

import uuid

from tests.support import chromium

TIMEOUT_MS = 30_000

# Counts the page's requests for the camera, so a test can tell that it was never asked.
COUNT_CAMERA_REQUESTS = """
window.cameraRequests = 0;
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.cameraRequests += 1;
  return getUserMedia(constraints);
};
"""


def meeting_browser():
    return chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


def page_opener(browser, server):
    """Opens /meeting pages, each in its own browser context (its own cookies, like another person);
    call `close()` at the end."""
    contexts = []

    def open_page():
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(COUNT_CAMERA_REQUESTS)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server.url}/meeting")
        return page

    def close():
        for context in contexts:
            context.close()

    open_page.close = close
    return open_page


def unique(name):
    # The live server's database is shared by the session, so names must not repeat.
    return f"{name}-{uuid.uuid4().hex[:8]}"


def register(page, username):
    page.fill("#username", username)
    page.click("#register-form button")
    expect(page.locator("#socket-state")).to_have_text("online")


def expect(locator):
    from playwright.sync_api import expect

    # Assertions wait as long as page actions do (a loaded machine connects calls slowly), not 5 s.
    expect.set_options(timeout=TIMEOUT_MS)
    return expect(locator)


def call_state(page):
    return page.locator("#call")


def ring(caller, callee, callee_name):
    """`caller` presses Call next to `callee_name`, and the call rings on `callee`'s page."""
    caller.click(f'button[data-call="{callee_name}"]')  # appears when the online list polls
    expect(call_state(callee)).to_have_attribute("data-state", "incoming")


def connected_call(caller, callee, callee_name):
    ring(caller, callee, callee_name)
    callee.click("#accept")
    for page in (caller, callee):
        expect(call_state(page)).to_have_attribute("data-state", "connected")
        expect(page.locator("#chat-input")).to_be_enabled()
