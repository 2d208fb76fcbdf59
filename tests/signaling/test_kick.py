"""`/v1/kick-active-users` and the admin's "kick": clear the registry and close the sockets."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from signaling import services
from signaling.models import ActiveConnection

pytestmark = pytest.mark.django_db(transaction=True)

usernames_online = database_sync_to_async(services.online_usernames)


@pytest.fixture(autouse=True)
def debug_on(settings):
    """The kick is open to anyone under DEBUG (pytest-django turns DEBUG off by default)."""
    settings.DEBUG = True


async def call(method, path, user=None, **data):
    """An HTTP request through Django's test client, logged in as `user` when given."""

    def request():
        client = APIClient()
        if user:
            client.force_login(user)
        return getattr(client, method)(path, data or None)

    return await database_sync_to_async(request)()


async def test_kick_closes_every_socket_with_kicked_and_4001_and_clears_the_registry(online):
    alice, bob = await online("alice"), await online("bob")

    response = await call("post", "/v1/kick-active-users")

    assert response.status_code == 200
    assert response.json() == {"kicked": 2}
    for socket in (alice, bob):
        assert await socket.receive() == {"type": "KICKED", "payload": None}
        assert await socket.closed_with() == 4001
    assert await usernames_online() == []


async def test_a_kicked_user_can_connect_again(online, sockets):
    alice = await online("alice")
    await call("post", "/v1/kick-active-users")
    await alice.receive()

    again = await sockets("alice")

    await again.assert_nothing_came_before_a_marker()
    assert await usernames_online() == ["alice"]


async def test_kicking_nobody_answers_zero(online):
    assert (await call("post", "/v1/kick-active-users")).json() == {"kicked": 0}


@pytest.fixture
async def make_user(django_user_model):
    return database_sync_to_async(django_user_model.objects.create_user)


async def test_without_debug_an_anonymous_kick_is_403_and_kicks_nobody(online, settings):
    settings.DEBUG = False
    alice = await online("alice")

    response = await call("post", "/v1/kick-active-users")

    assert response.status_code == 403
    assert response.json()["detail"]
    await alice.assert_nothing_came_before_a_marker()
    assert await usernames_online() == ["alice"]


async def test_without_debug_a_user_who_is_not_staff_cannot_kick(online, settings, make_user):
    settings.DEBUG = False
    alice = await online("alice")
    visitor = await make_user("visitor", password="x")

    response = await call("post", "/v1/kick-active-users", user=visitor)

    assert response.status_code == 403
    assert "staff" in response.json()["detail"]
    await alice.assert_nothing_came_before_a_marker()


async def test_without_debug_staff_can_kick(online, settings, make_user):
    settings.DEBUG = False
    alice = await online("alice")
    staff = await make_user("staff", password="x", is_staff=True)

    response = await call("post", "/v1/kick-active-users", user=staff)

    assert response.json() == {"kicked": 1}
    assert await alice.receive() == {"type": "KICKED", "payload": None}
    assert await alice.closed_with() == 4001


async def test_without_debug_the_admin_and_its_kick_action_send_a_non_staff_user_to_the_login(
    online, settings, make_user
):
    settings.DEBUG = False
    alice = await online("alice")
    visitor = await make_user("visitor", password="x")
    row = await database_sync_to_async(ActiveConnection.objects.get)()

    pages = await call("get", "/admin/", user=visitor)
    action = await call(
        "post", "/admin/signaling/activeconnection/", user=visitor, action="kick", _selected_action=[row.pk]
    )

    for response in (pages, action):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    await alice.assert_nothing_came_before_a_marker()
    assert await usernames_online() == ["alice"]


async def test_the_admin_kick_action_closes_only_the_selected_connections(online, make_user):
    alice, bob = await online("alice"), await online("bob")
    admin = await make_user("admin", password="x", is_staff=True, is_superuser=True)
    alice_row = await database_sync_to_async(ActiveConnection.objects.get)(user__username="alice")

    response = await call(
        "post", "/admin/signaling/activeconnection/", user=admin, action="kick", _selected_action=[alice_row.pk]
    )

    assert response.status_code == 302
    assert await alice.receive() == {"type": "KICKED", "payload": None}
    assert await alice.closed_with() == 4001
    await bob.assert_nothing_came_before_a_marker()
    assert await usernames_online() == ["bob"]


async def test_the_admin_lists_users_and_connections(online, make_user):
    await online("alice")
    admin = await make_user("admin", password="x", is_staff=True, is_superuser=True)

    for page in ("/admin/signaling/activeconnection/", "/admin/signaling/signalinguser/"):
        response = await call("get", page, user=admin)
        assert response.status_code == 200
        assert b"alice" in response.content


async def test_deleting_a_connection_in_the_admin_kicks_it_too(online, make_user):
    alice = await online("alice")
    admin = await make_user("admin", password="x", is_staff=True, is_superuser=True)
    row = await database_sync_to_async(ActiveConnection.objects.get)()

    response = await call("post", f"/admin/signaling/activeconnection/{row.pk}/delete/", user=admin, post="yes")

    assert response.status_code == 302
    assert await alice.receive() == {"type": "KICKED", "payload": None}
    assert await alice.closed_with() == 4001
    assert await usernames_online() == []
