"""A registered name is freed after SIGNALING_USER_IDLE_TTL without a visit, and its old cookie is nobody's."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from signaling import identity, services
from signaling.models import ActiveConnection, SignalingUser

pytestmark = pytest.mark.django_db


def register(name):
    client = APIClient()
    assert client.post("/v1/register", {"username": name}, format="json").status_code == 200
    return client


def last_seen(name, ago):
    SignalingUser.objects.filter(username=name).update(seen=timezone.now() - ago)


def test_a_user_idle_past_the_ttl_is_pruned_and_a_recent_or_connected_one_stays(settings):
    settings.SIGNALING_USER_IDLE_TTL = 3600
    for name in ("idle", "recent", "connected"):
        services.register_user(name)
    last_seen("idle", timedelta(hours=2))
    last_seen("recent", timedelta(minutes=59))
    last_seen("connected", timedelta(hours=2))
    services.claim_connection(services.find_user("connected"), "specific.channel")

    assert services.prune_expired() == 1
    assert sorted(SignalingUser.objects.values_list("username", flat=True)) == ["connected", "recent"]


def test_a_freed_name_can_be_registered_again_and_the_first_owners_cookie_is_nobodys(settings):
    settings.SIGNALING_USER_IDLE_TTL = 3600
    first = register("alice")
    last_seen("alice", timedelta(hours=2))
    call_command("nameserver_worker", "--once", verbosity=0)

    second = register("alice")
    assert second.get("/v1/user").json() == {"username": "alice"}
    response = first.get("/v1/user")
    assert response.status_code in (401, 404)
    assert response.cookies[identity.COOKIE_NAME].value == ""


def test_asking_who_you_are_keeps_the_name(settings):
    settings.SIGNALING_USER_IDLE_TTL = 3600
    client = register("bob")
    last_seen("bob", timedelta(minutes=59))
    client.get("/v1/user")
    last_seen_at = SignalingUser.objects.get(username="bob").seen
    assert timezone.now() - last_seen_at < timedelta(minutes=1)
    assert services.prune_expired(timezone.now() + timedelta(minutes=30)) == 0


def test_a_disconnect_counts_as_a_visit(settings):
    user = services.register_user("carol")
    last_seen("carol", timedelta(days=30))
    services.claim_connection(user, "specific.carol")
    services.release_connection(user.pk, "specific.carol")
    assert not ActiveConnection.objects.exists()
    assert services.prune_expired() == 0
