"""A server process that dies must not lock its users out: rows are refreshed or expire."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from signaling import services
from signaling.models import ActiveConnection


@pytest.fixture
def alice(db):
    return services.register_user("alice")


@pytest.fixture
def stale_after_30s(settings):
    settings.SIGNALING_STALE_AFTER = 30


@pytest.mark.usefixtures("stale_after_30s")
class TestRegistry:
    def test_a_row_not_refreshed_within_stale_after_no_longer_counts(self, alice, clock):
        services.claim_connection(alice, "process-1")
        clock.advance(30)
        assert services.online_usernames() == ["alice"]

        clock.advance(0.000001)

        assert services.online_usernames() == []
        assert services.live_channel_name("alice") is None

    def test_a_live_row_keeps_its_user_from_a_second_claim(self, alice, clock):
        services.claim_connection(alice, "process-1")
        clock.advance(29)

        assert services.claim_connection(alice, "process-2") is None
        assert list(ActiveConnection.objects.values_list("channel_name", flat=True)) == ["process-1"]

    def test_a_stale_row_is_replaced_by_a_new_claim(self, alice, clock):
        services.claim_connection(alice, "process-1")
        clock.advance(31)

        connection = services.claim_connection(alice, "process-2")

        assert connection.channel_name == "process-2"
        assert list(ActiveConnection.objects.values_list("channel_name", flat=True)) == ["process-2"]
        assert services.live_channel_name("alice") == "process-2"

    def test_a_heartbeat_keeps_the_row_live_past_stale_after(self, alice, clock):
        services.claim_connection(alice, "process-1")
        for _ in range(4):
            clock.advance(20)
            assert services.refresh_connection(alice.pk, "process-1")

        assert services.online_usernames() == ["alice"]
        assert services.claim_connection(alice, "process-2") is None

    def test_the_heartbeat_of_a_replaced_socket_fails_and_does_not_revive_it(self, alice, clock):
        services.claim_connection(alice, "process-1")
        clock.advance(31)
        services.claim_connection(alice, "process-2")

        assert not services.refresh_connection(alice.pk, "process-1")
        assert services.live_channel_name("alice") == "process-2"

    def test_releasing_an_old_socket_leaves_the_new_connection_alone(self, alice, clock):
        services.claim_connection(alice, "process-1")
        clock.advance(31)
        services.claim_connection(alice, "process-2")

        services.release_connection(alice.pk, "process-1")

        assert services.live_channel_name("alice") == "process-2"


async def age_rows(seconds):
    await database_sync_to_async(
        lambda: ActiveConnection.objects.update(seen=timezone.now() - timedelta(seconds=seconds))
    )()


async def seen_times():
    return await database_sync_to_async(lambda: list(ActiveConnection.objects.values_list("seen", flat=True)))()


async def eventually(condition, timeout=5.0):
    """Wait for an async condition to hold; a heartbeat fires on its own schedule."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stale_after_30s")
async def test_a_user_whose_server_stopped_heartbeating_can_connect_again(online, sockets):
    await online("alice")
    await age_rows(31)  # as if the process holding the socket had died 31 s ago

    again = await sockets("alice")

    await again.assert_nothing_came_before_a_marker()  # accepted: no ALREADY_EXISTS
    assert len(await seen_times()) == 1


@pytest.mark.django_db(transaction=True)
async def test_the_consumer_heartbeat_refreshes_its_row(online, settings):
    settings.SIGNALING_HEARTBEAT_INTERVAL = 0.05
    await online("alice")
    await age_rows(20)
    [aged] = await seen_times()

    async def refreshed():
        return (await seen_times())[0] > aged

    await eventually(refreshed)


@pytest.mark.django_db(transaction=True)
async def test_a_socket_that_lost_its_row_is_told_kicked_and_closed(online, settings):
    settings.SIGNALING_HEARTBEAT_INTERVAL = 0.05
    alice = await online("alice")
    await database_sync_to_async(ActiveConnection.objects.update)(channel_name="another-process")

    assert await alice.receive() == {"type": "KICKED", "payload": None}
    assert await alice.closed_with() == 4001
    assert await database_sync_to_async(ActiveConnection.objects.filter(channel_name="another-process").exists)()
