"""Stored XSS: hostile names and texts on every page that shows user text, in headless Chromium.

Payloads x pages: 3 payloads on the chat page (as username, room name and message text, and
again from history in a second page), the meeting page (a signaling user), the live
name-server page (a client name) and the contacts page (replica, contact and phone), plus
the admin's message and room lists once. Each page must show the payload as literal text
while `window.__pwned` stays undefined and no dialog opens.
"""

import json
import uuid
from urllib.parse import quote

import pytest

from tests.conftest import start_server
from tests.support import chromium, manage

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    '"><svg onload=window.__pwned=1>',
]
PHONE = "<svg/onload=alert()>"[:19]  # phones hold at most 19 bytes
SEED = """
import json
from datetime import timedelta
from django.utils import timezone
from contacts.protocol import ClientUpdate
from contacts.services import open_replica
from tests.contacts.batches import LEASE, LocalWrite, apply_batch
from messaging.services import post_message
from signaling.models import ActiveConnection, SignalingUser

payloads = json.loads({payloads!r})
for index, payload in enumerate(payloads):
    # Registration refuses such names, so they go straight into the database: the page must
    # still be safe if one ever gets there (an admin edit, an older version, a bug).
    user = SignalingUser.objects.create(username=payload)
    tomorrow = timezone.now() + timedelta(days=1)
    ActiveConnection.objects.create(user=user, channel_name=f"seeded-{{index}}", seen=tomorrow)
    replica, clock = open_replica(payload, LEASE)
    apply_batch(replica.id, clock, [LocalWrite(b"xss-user", ClientUpdate(payload.encode(), {phone!r}.encode()))])
    post_message(room_name=payload, sender="seed", text=payload)
"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Name-server clients live long enough for a slow browser to see them.
    server = start_server(tmp_path_factory, "xss", NAMESERVER_TTL=600)
    try:  # a seed that fails must not leave the server running
        manage("shell", "-c", SEED.format(payloads=json.dumps(PAYLOADS), phone=PHONE), env=server.env)
        manage("ensure_admin", "--username", "staff", "--password", "staff-password", env=server.env)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def open_page(browser, server):
    """A page in its own browser context that records every dialog it tries to open."""
    contexts, dialogs = [], []

    def open_page(path):
        context = browser.new_context()
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url + path)
        return page

    open_page.dialogs = dialogs
    yield open_page
    for context in contexts:
        context.close()


def shows_literally(page, selector, text):
    """Wait until an element matching `selector` has exactly `text` as its text."""
    page.wait_for_function(
        "([selector, text]) => [...document.querySelectorAll(selector)].some((node) => node.textContent === text)",
        arg=[selector, text],
    )


def assert_inert(page, dialogs):
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert page.locator("main img, main svg, main script:not(:last-child)").count() == 0


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_chat_page_shows_hostile_names_and_text_as_text(open_page, payload):
    room = f"{payload[:40]} {uuid.uuid4().hex[:6]}"
    writer = open_page("/chat/")
    writer.fill("#username", payload)
    writer.click("#login button")
    writer.wait_for_selector("#chat:not([hidden])")
    writer.fill("#room-name", room)
    writer.click("#new-room button")
    writer.fill("#text", payload)
    writer.click("#send button")
    for selector, text in [("#log .text", payload), ("#log .who", payload), ("#room-title", room), ("#rooms li", room)]:
        shows_literally(writer, selector, text)

    reader = open_page("/chat/")  # the same message again, from history
    reader.fill("#username", f"reader-{uuid.uuid4().hex[:6]}")
    reader.click("#login button")
    reader.locator("#rooms li", has_text=room).click()
    shows_literally(reader, "#log .text", payload)
    shows_literally(reader, "#log .who", payload)

    assert_inert(writer, open_page.dialogs)
    assert_inert(reader, open_page.dialogs)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_meeting_page_lists_a_hostile_username_as_text(open_page, payload):
    page = open_page("/meeting")
    page.fill("#username", f"viewer-{uuid.uuid4().hex[:6]}")
    page.click("#register-form button")
    # The seeded user, online for a day: its name, then its "Call" button.
    shows_literally(page, "#online li", payload + "Call")
    assert_inert(page, open_page.dialogs)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_name_server_page_shows_a_hostile_client_name_as_text(open_page, server, payload):
    status, _, _ = server.call("POST", "/client", {"ip": "192.0.2.1", "port": 1234, "name": payload})
    assert status == 201
    page = open_page("/nameserver/")
    shows_literally(page, "#clients td", payload)
    assert_inert(page, open_page.dialogs)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_contacts_page_shows_hostile_replica_contact_and_phone_as_text(open_page, payload):
    page = open_page("/contacts/?user=xss-user")
    shows_literally(page, "#replicas h2 .name", payload)
    shows_literally(page, "#replicas td", payload)
    shows_literally(page, "#replicas td", PHONE)
    assert_inert(page, open_page.dialogs)


def test_the_admin_lists_hostile_messages_and_rooms_as_text(open_page):
    page = open_page("/admin/login/?next=/admin/messaging/message/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-password")
    page.click("input[type=submit]")
    for payload in PAYLOADS:
        shows_literally(page, "#result_list td.field-text", payload)
    page.goto(page.url.split("/admin/")[0] + "/admin/messaging/room/")
    for payload in PAYLOADS:
        shows_literally(page, "#result_list th a", payload)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert open_page.dialogs == []


# --- Where registration stands in the way, it says so -----------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_hostile_token_nickname_or_signaling_username_is_refused(server, payload):
    status, body, _ = server.call("POST", f"/auth?nickname={quote(payload)}")
    assert status == 403
    assert body["error"].startswith("invalid nickname")

    status, body, _ = server.call("POST", "/v1/register", {"username": payload})
    assert (status, body["status"]) == (400, "INVALID")
