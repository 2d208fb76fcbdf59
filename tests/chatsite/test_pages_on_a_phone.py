"""Every page in a phone-sized Chromium window: nothing scrolls sideways, the navigation fits, the chat log shows."""

import pytest

from tests.support import chromium

pytestmark = pytest.mark.browser

WIDTH = 360
PHONE = {"viewport": {"width": WIDTH, "height": 740}, "is_mobile": True, "has_touch": True}
PAGES = ["/chat/", "/meeting", "/nameserver/", "/contacts/"]
# How far the page reaches past the phone's width, and the navigation links that do not fit in it.
# (Not window.innerWidth: a phone zooms out to show a page wider than itself, and widens that.)
OVERFLOW = f"""() => ({{
  sideways: document.documentElement.scrollWidth - {WIDTH},
  cut: [...document.querySelectorAll("header a")]
    .filter((a) => a.getBoundingClientRect().right > {WIDTH})
    .map((a) => a.textContent),
}})"""


@pytest.fixture(scope="module")
def phone():
    with chromium() as browser:
        context = browser.new_context(**PHONE)
        yield context
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_fits_a_phone(phone, live_server_process, path):
    page = phone.new_page()
    page.goto(live_server_process.url + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate(OVERFLOW) == {"sideways": 0, "cut": []}
    page.close()


def test_the_chat_log_and_send_box_are_on_a_phones_screen_after_joining(phone, live_server_process):
    page = phone.new_page()
    page.goto(live_server_process.url + "/chat/")
    page.fill("#username", "phone-user")
    page.click("#join")
    page.wait_for_selector("#chat", state="visible")
    height = PHONE["viewport"]["height"]
    log, send = page.locator("#log").bounding_box(), page.locator("#text").bounding_box()
    assert log["y"] + 100 < height, "the log starts below the fold"
    assert send["y"] + send["height"] <= height, "the send box is off screen"
    assert page.evaluate(OVERFLOW) == {"sideways": 0, "cut": []}
    page.close()
