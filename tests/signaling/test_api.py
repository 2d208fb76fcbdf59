"""`POST /v1/register`, `GET /v1/user`, `GET /v1/active-users` and the signed cookie."""

import pytest
from django.core import signing

from signaling import identity, services
from signaling.models import SignalingUser

pytestmark = pytest.mark.django_db

COOKIE = identity.COOKIE_NAME


def register(api, username, **kwargs):
    return api.post("/v1/register", {"username": username}, format=kwargs.pop("format", "json"), **kwargs)


def test_register_with_json_succeeds_and_sets_a_signed_httponly_lax_cookie(api):
    response = register(api, "alice")

    assert response.status_code == 200
    assert response.json() == {"status": "SUCCESS", "message": ""}
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    user = SignalingUser.objects.get()
    assert user.username == "alice"
    assert cookie.value.startswith(f"{user.pk}.alice:")  # the registration, then the signature


def test_register_with_a_form_succeeds(api):
    response = api.post("/v1/register", {"username": "bob"})  # multipart form

    assert response.status_code == 200
    assert response.json()["status"] == "SUCCESS"
    assert SignalingUser.objects.filter(username="bob").exists()


def test_register_with_an_urlencoded_form_succeeds(api):
    response = api.generic("POST", "/v1/register", "username=carol", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert SignalingUser.objects.filter(username="carol").exists()


def test_register_trims_the_username(api):
    assert register(api, "  dave ").status_code == 200
    assert SignalingUser.objects.get().username == "dave"


@pytest.mark.parametrize(
    "username",
    ["", "   ", "x" * 51, "has space", "semi;colon", "a/b", "<script>", 7, None, ["alice"], {"a": 1}, True],
)
def test_invalid_username_is_400_invalid_and_stores_nothing(api, username):
    response = register(api, username)

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "INVALID"
    assert body["message"]
    assert COOKIE not in response.cookies
    assert not SignalingUser.objects.exists()


def test_fifty_characters_and_any_letters_are_a_valid_username(api):
    assert register(api, "x" * 50).status_code == 200
    assert register(api, "Ünïcode_Ω.name-1").status_code == 200
    assert SignalingUser.objects.count() == 2


def test_missing_username_is_400_invalid(api):
    response = api.post("/v1/register", {}, format="json")
    assert response.status_code == 400
    assert response.json()["status"] == "INVALID"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("username=alice", "text/plain"),
        ("{not json", "application/json"),
        ('["alice"]', "application/json"),
        ('"alice"', "application/json"),
        ("null", "application/json"),
        ("<username>alice</username>", "application/xml"),
    ],
)
def test_a_body_that_is_neither_a_json_object_nor_a_form_is_400_invalid(api, body, content_type):
    response = api.generic("POST", "/v1/register", body, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["status"] == "INVALID"
    assert not SignalingUser.objects.exists()


def test_taken_username_is_409_in_any_letter_case_and_keeps_the_first_spelling(api):
    assert register(api, "Alice").status_code == 200

    response = register(api, "aLICE")

    assert response.status_code == 409
    assert response.json()["status"] == "TAKEN"
    assert "aLICE" in response.json()["message"]
    assert COOKIE not in response.cookies
    assert list(SignalingUser.objects.values_list("username", flat=True)) == ["Alice"]


def test_register_only_answers_post(api):
    response = api.get("/v1/register")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_user_answers_the_registered_name_for_its_cookie(api):
    register(api, "Alice")

    response = api.get("/v1/user")  # the client keeps the cookie it was given

    assert response.status_code == 200
    assert response.json() == {"username": "Alice"}


def test_cookie_of_a_non_ascii_username_round_trips(api):
    assert register(api, "Ωmega").status_code == 200
    assert api.get("/v1/user").json() == {"username": "Ωmega"}


def assert_cookie_cleared(response):
    # 401, not 404: the original web app sends a person to its register page only on 401.
    assert response.status_code == 401
    assert response.json()["status"] == "UNAUTHENTICATED"
    assert response["Clear-Site-Data"] == '"cookies"'
    for name in (COOKIE, identity.DISPLAY_COOKIE_NAME):
        cleared = response.cookies[name]
        assert cleared.value == ""
        assert cleared["max-age"] == 0


def test_user_without_a_cookie_is_401_and_clears_the_cookie(api):
    assert_cookie_cleared(api.get("/v1/user"))


def test_a_hand_written_identity_cookie_naming_a_real_user_is_refused(api):
    """The original trusted any `user_username` cookie; our identity cookie must be signed by the server."""
    services.register_user("alice")
    api.cookies[COOKIE] = "alice"

    assert_cookie_cleared(api.get("/v1/user"))


def test_a_cookie_signed_with_another_salt_is_refused(api):
    services.register_user("alice")
    api.cookies[COOKIE] = signing.get_cookie_signer(salt="something else").sign("alice")

    assert_cookie_cleared(api.get("/v1/user"))


def test_a_valid_cookie_of_a_deleted_user_is_401_and_cleared(api):
    register(api, "alice")
    SignalingUser.objects.all().delete()

    assert_cookie_cleared(api.get("/v1/user"))


def test_active_users_lists_only_live_connections(api, settings):
    alice, bob = services.register_user("alice"), services.register_user("bob")
    services.register_user("carol")  # registered, never connected
    services.claim_connection(bob, "channel-bob")
    services.claim_connection(alice, "channel-alice")

    response = api.get("/v1/active-users")

    assert response.status_code == 200
    assert response.json() == {"users": ["alice", "bob"]}


def test_active_users_takes_one_query(api, django_assert_num_queries):
    for index in range(5):
        services.claim_connection(services.register_user(f"user{index}"), f"channel-{index}")
    with django_assert_num_queries(1):
        assert len(api.get("/v1/active-users").json()["users"]) == 5


def test_a_cookie_older_than_its_max_age_is_401_and_cleared(api, settings, monkeypatch):
    settings.SIGNALING_COOKIE_MAX_AGE = 60
    register(api, "alice")
    assert api.get("/v1/user").status_code == 200
    now = signing.time.time()

    monkeypatch.setattr(signing.time, "time", lambda: now + 61)

    assert_cookie_cleared(api.get("/v1/user"))


def test_a_name_that_grows_when_lower_cased_still_registers(api):
    assert register(api, "İ" * 50).status_code == 200  # "İ".lower() is two code points

    assert SignalingUser.objects.get().key == "İ".lower() * 50
    assert register(api, "İ" * 50).status_code == 409


def test_the_admin_refuses_renaming_a_user_to_a_taken_name(admin_client):
    services.register_user("alice")
    bob = services.register_user("bob")

    response = admin_client.post(f"/admin/signaling/signalinguser/{bob.pk}/change/", {"username": "ALICE"})

    assert response.status_code == 200  # the form again, with the error
    assert b"is taken" in response.content
    assert SignalingUser.objects.get(pk=bob.pk).username == "bob"


def test_the_admin_refuses_a_username_the_api_would_refuse(admin_client):
    bob = services.register_user("bob")

    response = admin_client.post(f"/admin/signaling/signalinguser/{bob.pk}/change/", {"username": "b o b"})

    assert response.status_code == 200
    assert b"may only contain" in response.content
    assert SignalingUser.objects.get(pk=bob.pk).username == "bob"
