"""The chat page in headless Chromium: two pages talk, and text stays text."""

import pytest

from tests.support import chromium


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


def join(browser, server, name):
    page = browser.new_page()
    page.goto(f"{server.url}/chat/")
    page.fill("#username", name)
    page.click("#login button")
    page.wait_for_selector("#chat:not([hidden])")
    return page


@pytest.mark.browser
def test_a_message_typed_in_one_page_appears_in_the_other_as_text(browser, live_server_process):
    alice = join(browser, live_server_process, "page-alice")
    bob = join(browser, live_server_process, "page-bob")
    for page in (alice, bob):
        page.fill("#room-name", "Page Room")
        page.click("#new-room button")
    hostile = "<img src=x onerror=\"document.title='pwned'\"> hi & bye"
    alice.fill("#text", hostile)
    alice.click("#send button")
    bob.wait_for_selector("#log li .text")
    assert bob.locator("#log li .text").last.text_content() == hostile
    assert bob.locator("#log li .who").last.text_content() == "page-alice"
    assert bob.locator("#log img").count() == 0
    assert bob.title() != "pwned"
    # History: a third page opening the room later sees the message too.
    carol = join(browser, live_server_process, "page-carol")
    carol.locator("#rooms li", has_text="Page Room").click()
    carol.wait_for_selector("#log li .text")
    assert carol.locator("#log li .text").last.text_content() == hostile


@pytest.mark.browser
def test_the_page_is_served_at_the_root_too(browser, live_server_process):
    page = browser.new_page()
    page.goto(live_server_process.url + "/")
    assert page.locator("#username").is_visible()
