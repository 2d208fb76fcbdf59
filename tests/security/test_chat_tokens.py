"""Chat tokens that were tampered with, outlived, or already spent open nothing and store nothing."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core import signing
from django.test import override_settings
from django.utils import timezone

from messaging.models import ChatSession
from tests.security.conftest import stored_state

pytestmark = pytest.mark.django_db(transaction=True)


def payload_of(session_pk):
    """The payload part of a token naming session `session_pk`, as the server would encode it."""
    return signing.b64_encode(f'{{"s":{session_pk}}}'.encode()).decode()


async def refused(sockets, token):
    before = await stored_state()
    socket = sockets("/ws", subprotocols=[token])
    assert not await socket.connect()
    assert await stored_state() == before


async def bobs_session():
    return await database_sync_to_async(ChatSession.objects.get)(nickname="bob")


async def test_a_token_whose_payload_names_another_session_is_refused(sockets, token_for):
    mallory, bob_token = await token_for("mallory"), await token_for("bob")
    _, timestamp, signature = mallory.split(".")
    forged = ".".join([payload_of((await bobs_session()).pk), timestamp, signature])
    assert forged != mallory

    await refused(sockets, forged)
    # Bob's session was not claimed by the attempt: his own token still opens it.
    assert await sockets("/ws", subprotocols=[bob_token]).connect()


async def test_a_token_with_one_character_of_its_signature_changed_is_refused(sockets, token_for):
    token = await token_for("mallory")
    index = len(token) - 5
    forged = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]

    await refused(sockets, forged)
    assert await sockets("/ws", subprotocols=[token]).connect()


async def test_a_token_signed_with_another_secret_key_is_refused(sockets, token_for):
    await token_for("bob")
    pk = (await bobs_session()).pk
    with override_settings(SECRET_KEY="the attacker's own key, long enough to look real"):
        forged = signing.TimestampSigner(salt="messaging.token", sep=".").sign_object({"s": pk})

    await refused(sockets, forged)


async def test_a_token_past_its_ttl_is_refused_though_its_signature_is_fresh(sockets, token_for, settings, clock):
    """The session's own expiry, checked in the database, with the connect window out of the way."""
    settings.CHAT_TOKEN_TTL, settings.AUTH_CONNECT_WINDOW = 60, 3600
    token = await token_for("mallory")
    clock.advance(61)

    await refused(sockets, token)


async def test_a_token_whose_signature_is_older_than_the_ttl_is_refused(sockets, token_for, settings, monkeypatch):
    """The signer's own expiry, with the session still unexpired in the database."""
    settings.CHAT_TOKEN_TTL = 60
    token = await token_for("mallory")
    later = signing.time.time() + 61
    monkeypatch.setattr(signing.time, "time", lambda: later)
    await database_sync_to_async(ChatSession.objects.update)(expires=timezone.now() + timedelta(days=1))

    await refused(sockets, token)


async def test_a_token_is_dead_after_exit(token_for, sockets):
    token = await token_for("mallory")
    first = sockets("/ws", subprotocols=[token])
    assert await first.connect()
    await first.receive()
    await first.send({"type": "exit"})
    await first.closed_with()

    await refused(sockets, token)
