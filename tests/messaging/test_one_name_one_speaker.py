"""One name, one speaker, across both dialects, however the name is spelled."""

import asyncio
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from messaging import services
from messaging.models import ChatSession
from tests.messaging.conftest import assert_nothing_came_before_a_marker

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def auth(nickname):
    """POST /auth?nickname=…: (status, body)."""
    response = APIClient().post(f"/auth?nickname={quote(nickname)}")
    return response.status_code, response.json()


async def nane_refused(sockets, username):
    return not await sockets(f"/ws?username={quote(username)}").connect()


held_names = database_sync_to_async(
    lambda: sorted(ChatSession.objects.holding_nickname().values_list("dialect", "nickname"))
)


# --- a nane user holds the name against the token dialect -----------------------------


@pytest.mark.parametrize("nickname", ["bob2", "Bob2", "BOB2"])
async def test_auth_is_refused_while_a_nane_user_holds_the_name(nane, nickname):
    await nane("bob2")

    status, body = await auth(nickname)

    assert status == 403
    assert body == {"error": f"nickname {nickname} is already taken"}


async def test_setnick_onto_a_live_nane_username_is_refused(nane, token_client):
    await nane("bob2")
    alice = await token_client("alice")

    await alice.send({"type": "setnick", "args": {"nickname": "Bob2"}})

    assert await alice.receive() == {"from": "system", "body": "nickname Bob2 is already taken"}
    await assert_nothing_came_before_a_marker(alice)  # still alice


async def test_the_name_is_free_for_the_token_dialect_once_the_nane_user_leaves(nane):
    bob = await nane("bob2")
    await bob.disconnect()

    status, body = await auth("bob2")

    assert status == 201
    assert body["token"]


# --- a token session holds the name against nane and against other spellings ---------


@pytest.mark.parametrize("username", ["victim1", "Victim1", "\uff56\uff49\uff43\uff54\uff49\uff4d\uff11", " VICTIM1 "])
async def test_a_nane_lookalike_of_a_held_nickname_is_refused(sockets, token_client, username):
    await token_client("victim1")
    assert await nane_refused(sockets, username)


async def test_auth_is_refused_for_another_letter_case_of_a_held_nickname(token_client):
    await token_client("victim1")
    assert await auth("Victim1") == (403, {"error": "nickname Victim1 is already taken"})


async def test_setnick_to_another_letter_case_of_ones_own_name_is_a_rename(token_client):
    alice = await token_client("alice")
    await alice.send({"type": "setnick", "args": {"nickname": "Alice"}})
    assert await alice.receive() == {"from": "system", "body": "alice is now Alice"}
    assert await held_names() == [("token", "Alice")]


# --- names nobody may take ----------------------------------------------------------


@pytest.mark.parametrize("username", ["system", "System", "SYSTEM", "\uff53\uff59\uff53\uff54\uff45\uff4d"])
async def test_system_is_reserved_in_every_spelling_in_nane(sockets, username):
    assert await nane_refused(sockets, username)


@pytest.mark.parametrize("nickname", ["system", "System", "SYSTEM"])
async def test_system_is_reserved_in_every_spelling_in_the_token_dialect(nickname):
    assert await auth(nickname) == (403, {"error": f"nickname {nickname} is reserved"})


@pytest.mark.parametrize("username", ["victim1\u200b", "\u200bvictim1", "vic\u2060tim1", "\u3164", "\u0301"])
async def test_a_nane_username_with_characters_that_show_nothing_is_refused(sockets, username):
    assert await nane_refused(sockets, username)
    assert await held_names() == []


# --- nane sockets of one spelling share the name -------------------------------------


async def test_two_nane_sockets_of_one_spelling_share_the_name_until_the_last_leaves(nane):
    first, second = await nane("carol"), await nane("carol")
    assert await held_names() == [("nane", "carol")]

    await first.disconnect()
    assert (await auth("carol"))[0] == 403
    await assert_nothing_came_before_a_marker(second)

    await second.disconnect()
    assert (await auth("carol"))[0] == 201


async def test_names_whose_sockets_leave_at_once_are_all_free_again(nane):
    # Freed together, in as few transactions as the writer's batches (messaging/nane_names.py).
    names = [f"leaver{n}" for n in range(8)]
    users = [await nane(name) for name in names]
    await asyncio.gather(*(user.disconnect() for user in users))
    assert [(await auth(name))[0] for name in names] == [201] * len(names)


async def test_another_spelling_of_a_live_nane_username_is_refused(nane, sockets):
    await nane("carol")
    assert await nane_refused(sockets, "Carol")
    assert await nane_refused(sockets, "carol\u200b")


# --- nodes that die, and names taken over ------------------------------------------


def test_a_nane_name_nobody_refreshes_is_free_after_the_stale_window(db, clock, settings):
    settings.CHAT_SESSION_STALE_AFTER = 30
    held = services.claim_nane_name("dave")
    clock.advance(25)
    assert services.refresh_nane_names([held]) == set()
    clock.advance(25)
    with pytest.raises(services.ChatError):
        services.issue_token("dave")

    clock.advance(30.001)  # its node died: no heartbeat since
    assert services.issue_token("dave")
    assert services.refresh_nane_names([held]) == {held}


async def test_a_nane_name_ended_elsewhere_is_claimed_again_at_the_next_heartbeat(nane, settings):
    settings.CHAT_SESSION_HEARTBEAT_INTERVAL = 0.05
    erin = await nane("erin")
    # Another node's last `erin` socket left, and freed the row this node shares.
    await database_sync_to_async(lambda: ChatSession.objects.filter(nickname="erin").update(ended=timezone.now()))()

    for _ in range(200):  # the heartbeat comes every 0.05 s
        if await held_names() == [("nane", "erin")]:
            break
        await asyncio.sleep(0.05)
    assert await held_names() == [("nane", "erin")]
    assert (await auth("erin"))[0] == 403
    await assert_nothing_came_before_a_marker(erin)  # and the socket was left open


async def test_a_nane_name_taken_over_meanwhile_is_told_and_closed(nane, settings):
    settings.CHAT_SESSION_HEARTBEAT_INTERVAL = 0.05
    erin = await nane("erin")

    @database_sync_to_async
    def taken_over():
        ChatSession.objects.filter(nickname="erin").update(ended=timezone.now())
        return services.issue_token("Erin")

    assert await taken_over()

    assert await erin.receive() == {"error": "username erin is now held by someone else"}
    await erin.closed_with()
