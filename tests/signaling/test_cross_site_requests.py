"""A hostile page cannot make a visitor's browser register a name or kick everyone."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from signaling import identity, services
from signaling.models import SignalingUser

pytestmark = pytest.mark.django_db(transaction=True)

usernames_online = database_sync_to_async(services.online_usernames)
FORM = "application/x-www-form-urlencoded"


def post_form(path, body="", **headers):
    """What an auto-submitting <form method=post> makes the browser send (headers as Django's test client wants)."""
    return Client().post(path, body, content_type=FORM, **headers)


# --- /v1/register -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "http://127.0.0.1.evil.example:8000"},
        {"HTTP_ORIGIN": "null"},  # a sandboxed frame or a data: page
        {"HTTP_SEC_FETCH_SITE": "cross-site"},  # a browser that left Origin out
        {"HTTP_SEC_FETCH_SITE": "same-site"},
    ],
)
def test_a_form_from_another_site_registers_nothing_and_sets_no_cookie(headers):
    response = post_form("/v1/register", "username=victim", **headers)

    assert response.status_code == 403
    assert response.json()["status"] == "FORBIDDEN"
    assert "refused" in response.json()["message"]
    assert identity.COOKIE_NAME not in response.cookies
    assert not SignalingUser.objects.exists()


def test_a_json_post_from_another_site_is_refused_too():
    response = Client().post(
        "/v1/register", {"username": "victim"}, content_type="application/json", HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    assert not SignalingUser.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "http://localhost:8000", "HTTP_SEC_FETCH_SITE": "same-origin"},  # the meeting page
        {"HTTP_ORIGIN": "http://127.0.0.1:3000"},  # the original web app's development server
        {},  # curl
    ],
)
def test_our_pages_and_programs_without_origin_still_register(headers):
    response = post_form("/v1/register", "username=alice", **headers)

    assert response.status_code == 200
    assert SignalingUser.objects.get().username == "alice"


def test_a_json_post_without_origin_still_registers():
    response = Client().post("/v1/register", {"username": "alice"}, content_type="application/json")
    assert response.status_code == 200


def test_an_origin_listed_in_ws_allowed_origins_may_register(settings):
    settings.WS_ALLOWED_ORIGINS = ["https://app.example.com"]
    assert post_form("/v1/register", "username=alice", HTTP_ORIGIN="https://app.example.com").status_code == 200
    assert post_form("/v1/register", "username=bob", HTTP_ORIGIN="http://localhost").status_code == 403


# --- /v1/kick-active-users ---------------------------------------------------------


@pytest.fixture
async def staff(django_user_model):
    create = database_sync_to_async(django_user_model.objects.create_user)
    return await create("staff", password="x", is_staff=True)


@pytest.mark.parametrize("debug", [True, False])
async def test_a_get_of_the_kick_is_405_and_kicks_nobody_even_for_staff(online, settings, staff, debug):
    settings.DEBUG = debug
    alice = await online("alice")

    def get():
        client = Client()
        client.force_login(staff)
        return client.get("/v1/kick-active-users")

    response = await database_sync_to_async(get)()

    assert response.status_code == 405
    assert response.json()["detail"]
    assert "POST" in response["Allow"]
    await alice.assert_nothing_came_before_a_marker()
    assert await usernames_online() == ["alice"]


async def test_under_debug_a_form_from_another_site_kicks_nobody(online, settings):
    settings.DEBUG = True
    alice = await online("alice")

    response = await database_sync_to_async(post_form)("/v1/kick-active-users", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 403
    assert "refused" in response.json()["detail"]
    await alice.assert_nothing_came_before_a_marker()


async def test_a_staff_session_without_its_csrf_token_kicks_nobody(online, settings, staff):
    settings.DEBUG = False
    alice = await online("alice")

    def post_without_token():
        client = Client(enforce_csrf_checks=True)
        client.force_login(staff)
        return client.post("/v1/kick-active-users")

    response = await database_sync_to_async(post_without_token)()

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    await alice.assert_nothing_came_before_a_marker()


async def test_a_staff_session_with_its_csrf_token_kicks(online, settings, staff):
    settings.DEBUG = False
    alice = await online("alice")

    def post_with_token():
        client = Client(enforce_csrf_checks=True)
        client.force_login(staff)
        client.get("/admin/")  # the admin page sets the csrftoken cookie
        token = client.cookies["csrftoken"].value
        return client.post("/v1/kick-active-users", HTTP_X_CSRFTOKEN=token)

    response = await database_sync_to_async(post_with_token)()

    assert response.json() == {"kicked": 1}
    assert await alice.receive() == {"type": "KICKED", "payload": None}
