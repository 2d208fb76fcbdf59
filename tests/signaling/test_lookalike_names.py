"""Signaling names are told apart as chat names are: normalised, case folded, nothing invisible."""

import importlib

import pytest
from django.apps import apps

from signaling import services
from signaling.models import SignalingUser

pytestmark = pytest.mark.django_db


def register(api, username):
    return api.post("/v1/register", {"username": username}, format="json")


@pytest.mark.parametrize(
    "lookalike",
    ["Alice", "ALICE", "\uff41\uff4c\uff49\uff43\uff45", " alice "],
)
def test_a_lookalike_of_a_registered_name_is_taken(api, lookalike):
    assert register(api, "alice").status_code == 200

    response = register(api, lookalike)

    assert response.status_code == 409
    assert response.json()["status"] == "TAKEN"
    assert SignalingUser.objects.count() == 1


def test_names_that_differ_only_in_compatibility_forms_are_one(api):
    assert register(api, "\ufb01le").status_code == 200  # the "fi" ligature
    assert register(api, "file").status_code == 409
    assert register(api, "stra\u00dfe").status_code == 200
    assert register(api, "STRASSE").status_code == 409


@pytest.mark.parametrize("username", ["alice\u200b", "\u3164", "\u3164\u3164", "bob\u180b", "a\u034fb"])
def test_a_name_with_characters_that_show_nothing_is_invalid(api, username):
    response = register(api, username)

    assert response.status_code == 400
    assert response.json()["status"] == "INVALID"
    assert not SignalingUser.objects.exists()


def test_a_frame_target_is_found_in_any_spelling_of_its_name(db):
    user = services.register_user("alice")
    services.claim_connection(user, "channel-of-alice")
    assert services.live_channel_name("\uff21\uff2c\uff29\uff23\uff25") == "channel-of-alice"


def test_the_migration_rekeys_users_and_keeps_the_older_of_two_lookalikes(db):
    older = SignalingUser.objects.create(username="\ufb01le")
    newer = SignalingUser.objects.create(username="File2")
    # As the lower-casing rule stored them: two users whose names are now one.
    SignalingUser.objects.filter(pk=older.pk).update(key="\ufb01le")
    SignalingUser.objects.filter(pk=newer.pk).update(username="File", key="file")

    importlib.import_module("signaling.migrations.0003_rekey_signaling_users").rekey(apps, None)

    assert services.find_user("file").pk == older.pk
    assert SignalingUser.objects.get(pk=newer.pk).username == "File"  # kept, not deleted
    assert SignalingUser.objects.get(pk=newer.pk).key != "file"
