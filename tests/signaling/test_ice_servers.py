"""`GET /v1/ice-servers`: STUN and TURN servers for a registered user, with a TURN credential in coturn's scheme."""

import base64
import hashlib
import hmac

import pytest
from django.core import signing

from signaling import identity, services
from signaling.models import SignalingUser

pytestmark = pytest.mark.django_db

SECRET = "coturn-static-auth-secret-" + "s" * 32
STUN = "stun:stun.example.com:3478"
TURN = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"]


@pytest.fixture
def ice(settings):
    settings.SIGNALING_ICE_SERVERS = [STUN, *TURN]
    settings.SIGNALING_TURN_SECRET = SECRET
    settings.SIGNALING_TURN_CREDENTIAL_TTL = 600
    settings.SIGNALING_ICE_TRANSPORT_POLICY = "all"
    return settings


def signed_in(api, username):
    assert api.post("/v1/register", {"username": username}, format="json").status_code == 200
    return api


def coturn_password(secret, username):
    """What coturn computes for `use-auth-secret`, written out independently of signaling/ice.py."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def test_a_registered_user_gets_stun_and_a_turn_credential_that_names_them_and_expires(api, ice, clock):
    signed_in(api, "alice")

    response = api.get("/v1/ice-servers")

    assert response.status_code == 200
    expires = int(clock.now.timestamp()) + 600
    username = f"{expires}:alice"
    assert response.json() == {
        "iceServers": [
            {"urls": [STUN]},
            {"urls": TURN, "username": username, "credential": coturn_password(SECRET, username)},
        ],
        "iceTransportPolicy": "all",
        "expires": expires,
    }


def test_the_credential_is_fresh_on_every_request(api, ice, clock):
    signed_in(api, "alice")
    first = api.get("/v1/ice-servers").json()

    clock.advance(30)
    second = api.get("/v1/ice-servers").json()

    assert second["expires"] == first["expires"] + 30
    assert second["iceServers"][1]["credential"] != first["iceServers"][1]["credential"]


def test_the_answer_never_holds_the_secret_and_is_never_cached(api, ice):
    signed_in(api, "alice")

    response = api.get("/v1/ice-servers")

    assert SECRET not in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_a_credential_for_a_non_ascii_name_is_the_hmac_of_its_utf8(api, ice, clock):
    signed_in(api, "Ωmega")

    turn = api.get("/v1/ice-servers").json()["iceServers"][1]

    assert turn["username"].endswith(":Ωmega")
    assert turn["credential"] == coturn_password(SECRET, turn["username"])


def test_query_parameters_change_nothing(api, ice, clock):
    signed_in(api, "alice")
    plain = api.get("/v1/ice-servers").json()

    hostile = api.get("/v1/ice-servers?ttl=99999999&username=bob&expires=1&iceTransportPolicy=all")

    assert hostile.json() == plain


def test_stun_only_servers_come_without_a_credential(api, settings):
    settings.SIGNALING_ICE_SERVERS = [STUN]
    signed_in(api, "alice")

    assert api.get("/v1/ice-servers").json() == {
        "iceServers": [{"urls": [STUN]}],
        "iceTransportPolicy": "all",
        "expires": None,
    }


def test_with_no_servers_configured_the_list_is_empty(api):
    signed_in(api, "alice")

    assert api.get("/v1/ice-servers").json() == {"iceServers": [], "iceTransportPolicy": "all", "expires": None}


def test_relay_policy_is_passed_on(api, ice):
    ice.SIGNALING_ICE_TRANSPORT_POLICY = "relay"
    signed_in(api, "alice")

    assert api.get("/v1/ice-servers").json()["iceTransportPolicy"] == "relay"


def assert_refused(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "UNAUTHENTICATED"
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies  # the refusal changes nothing, the browser's cookies included
    assert b"iceServers" not in response.content


def test_without_a_cookie_it_is_401(api, ice):
    assert_refused(api.get("/v1/ice-servers"))


def test_a_user_username_cookie_alone_is_401(api, ice):
    services.register_user("alice")
    api.cookies[identity.DISPLAY_COOKIE_NAME] = "alice"

    assert_refused(api.get("/v1/ice-servers"))


def test_an_unsigned_identity_cookie_naming_a_real_user_is_401(api, ice):
    services.register_user("alice")
    api.cookies[identity.COOKIE_NAME] = "alice"

    assert_refused(api.get("/v1/ice-servers"))


def test_a_valid_cookie_of_a_deleted_user_is_401(api, ice):
    signed_in(api, "alice")
    SignalingUser.objects.all().delete()

    assert_refused(api.get("/v1/ice-servers"))


def test_a_cookie_older_than_its_max_age_is_401(api, ice, monkeypatch):
    ice.SIGNALING_COOKIE_MAX_AGE = 60
    signed_in(api, "alice")
    now = signing.time.time()

    monkeypatch.setattr(signing.time, "time", lambda: now + 61)

    assert_refused(api.get("/v1/ice-servers"))


def test_only_get_is_answered(api, ice):
    signed_in(api, "alice")

    response = api.post("/v1/ice-servers", {"username": "bob"}, format="json")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
