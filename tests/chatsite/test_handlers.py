"""Public JSON endpoints go through the short middleware chain; pages and the admin through the full one."""

import json

import pytest
from channels.testing import HttpCommunicator
from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from chatsite.server.handlers import APIHandler, DjangoHandlers, is_public_api
from chatsite.server.wsgi_bridge import WSGIBridge
from tests.support import http_scope

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app():
    return WSGIBridge(DjangoHandlers(), threads=1, max_body_bytes=10_000, stall_after=60)


async def request(app, path, method="GET", headers=()):
    return await HttpCommunicator(app, method, path, headers=list(headers)).get_response()


def header(response, name):
    return dict(response["headers"]).get(name.encode())


def test_only_public_api_views_take_the_short_chain():
    assert is_public_api("/clients")
    assert is_public_api("/api/rooms/lobby/history")
    assert not is_public_api("/v1/kick-active-users")  # a DRF view that reads the staff session
    assert not is_public_api("/admin/login/")
    assert not is_public_api("/chat/")
    assert not is_public_api("/no/such/page")


async def test_a_public_endpoint_skips_the_page_middleware_and_keeps_the_security_headers(app):
    response = await request(app, "/api/settings", headers=[(b"cookie", b"sessionid=whatever")])
    assert response["status"] == 200
    assert header(response, "x-content-type-options") == b"nosniff"  # SecurityMiddleware
    assert header(response, "x-frame-options") is None  # XFrameOptionsMiddleware skipped
    assert header(response, "vary") is None  # no session or CSRF cookie was looked at


async def test_each_path_keeps_its_own_match_and_arguments(app):
    # The short chain keeps the URL match of each path; the room named in the path must follow it.
    for _ in range(2):
        for room in ("first", "second"):
            response = await request(app, f"/api/rooms/{room}")
            assert response["status"] == 404
            assert json.loads(response["body"]) == {"error": f"room {room} not found"}


async def test_pages_keep_sessions_csrf_and_frame_options(app):
    response = await request(app, "/admin/login/")
    assert response["status"] == 200
    assert header(response, "x-frame-options") == b"DENY"
    assert b"csrftoken=" in header(response, "set-cookie")
    assert (await request(app, "/admin/login/", method="POST"))["status"] == 403  # no CSRF token


async def test_the_short_chain_still_redirects_to_the_slash_url(app):
    response = await request(app, "/admin")  # CommonMiddleware's APPEND_SLASH, through the full chain
    assert response["status"] == 301
    assert header(response, "location") == b"/admin/"


@override_settings(API_MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"])
def test_middleware_with_view_hooks_are_refused_for_the_short_chain():
    with pytest.raises(ImproperlyConfigured, match="CsrfViewMiddleware"):
        APIHandler()


def test_public_endpoints_answer_json_whatever_accept_or_format_say(client):
    # DRF would answer 406 to the Accept header and 404 to `?format=` (its renderer switch).
    listing = client.get("/clients?format=xml", HTTP_ACCEPT="text/html")
    assert listing.status_code == 200
    assert listing["Content-Type"] == "application/json"
    token = client.post("/auth?format=switchroom", {"nickname": "fmt"}, content_type="application/json")
    assert token.status_code == 201
    assert set(token.json()) == {"token"}


@pytest.fixture
def request_cycles():
    """How many times Django's request_started and request_finished were sent."""
    sent = {"started": 0, "finished": 0}

    def started(**kwargs):
        sent["started"] += 1

    def finished(**kwargs):
        sent["finished"] += 1

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield sent
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def test_public_requests_of_one_batch_share_one_request_cycle_and_pages_keep_their_own(request_cycles):
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    with handlers.batch():
        statuses = [bridge.respond(http_scope(path), b"")[0] for path in ("/api/settings", "/clients", "/api/settings")]
        assert request_cycles == {"started": 1, "finished": 0}
        statuses.append(bridge.respond(http_scope("/admin/login/"), b"")[0])  # Django's own handler, its own cycle
    assert statuses == [200, 200, 200, 200]
    assert request_cycles == {"started": 2, "finished": 2}


async def test_the_bridge_runs_each_batch_in_the_handlers_request_cycle(request_cycles):
    handlers = DjangoHandlers()
    bridge = WSGIBridge(handlers, threads=1, max_body_bytes=10_000, stall_after=60, batch=handlers.batch)
    for _ in range(3):
        assert (await request(bridge, "/clients"))["status"] == 200
    assert request_cycles == {"started": 3, "finished": 3}  # one request a batch here


def test_public_views_still_say_which_methods_they_allow(client):
    response = client.patch("/client", {"id": "not-a-uuid"}, content_type="application/json")
    assert response.status_code == 400
    assert response["Allow"] == "POST, PATCH, OPTIONS"
    assert client.get("/clients")["Allow"] == "GET, HEAD, OPTIONS"


async def test_a_public_request_outside_a_batch_gets_a_request_cycle_of_its_own(app, request_cycles):
    # A bridge made without `batch` (as in these tests' `app`): nothing else would end the
    # cycle, and the request thread's database connection would stay open.
    for _ in range(2):
        assert (await request(app, "/clients"))["status"] == 200
    assert request_cycles == {"started": 2, "finished": 2}
