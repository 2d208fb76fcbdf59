"""A web process that dies must not keep its token sessions' nicknames: heartbeats go stale."""

import asyncio
import json
import signal
import time

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from websockets.asyncio.client import connect

from messaging import services
from messaging.models import ChatSession
from tests.conftest import second_server, start_server
from tests.support import report

# Short enough to wait out in a test; the heartbeat beats several times per window.
FAST = {"CHAT_SESSION_STALE_AFTER": 1.5, "CHAT_SESSION_HEARTBEAT_INTERVAL": 0.3}


def auth(server, nickname):
    """POST /auth; the token, or None when the nickname is refused."""
    status, body, _ = server.call("POST", f"/auth?nickname={nickname}")
    return body["token"] if status == 201 else None


class TestStaleness:
    @pytest.fixture(autouse=True)
    def stale_after_30s(self, settings):
        settings.CHAT_SESSION_STALE_AFTER = 30

    def connected(self, nickname):
        return services.open_session(services.issue_token(nickname))

    def test_a_heartbeat_within_the_window_keeps_the_nickname(self, db, clock):
        session = self.connected("alice")
        clock.advance(25)
        assert services.refresh_session(session)
        clock.advance(25)
        with pytest.raises(services.ChatError):
            services.issue_token("alice")

    def test_a_session_silent_past_the_window_loses_its_nickname_and_its_socket(self, db, clock):
        session = self.connected("alice")
        clock.advance(30.001)
        assert services.issue_token("alice")
        assert ChatSession.objects.get(pk=session.pk).ended is not None
        assert not services.refresh_session(session), "the old socket must learn it was taken over"


@pytest.mark.django_db(transaction=True)
async def test_a_taken_over_socket_is_told_and_closed_at_its_next_heartbeat(token_client, settings):
    settings.CHAT_SESSION_HEARTBEAT_INTERVAL = 0.05
    alice = await token_client("alice")
    # What a takeover elsewhere does once alice's session has gone stale.
    await database_sync_to_async(ChatSession.objects.filter(nickname="alice").update)(ended=timezone.now())
    assert await alice.receive() == {"from": "system", "body": "session of alice ended"}
    await alice.closed_with()  # asserts a close, not just silence


@pytest.mark.faults
async def test_a_killed_server_frees_its_sessions_nicknames_after_the_window(tmp_path_factory):
    doomed = start_server(tmp_path_factory, "chat-doomed", **FAST)
    survivor = second_server(doomed)
    try:
        ws = await connect(f"{doomed.ws_url}/ws", subprotocols=[auth(doomed, "zed")])
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"from": "system", "body": "zed joined"}
        assert auth(survivor, "zed") is None, "a live session on another process holds the nickname"
        doomed.process.send_signal(signal.SIGKILL)  # no disconnect handler runs: the session stays unended
        doomed.process.wait()
        killed = time.monotonic()

        deadline = killed + 15
        while (token := auth(survivor, "zed")) is None:
            assert time.monotonic() < deadline, "the dead server's session never went stale"
            await asyncio.sleep(0.1)
        freed_after = round(time.monotonic() - killed, 2)
        async with connect(f"{survivor.ws_url}/ws", subprotocols=[token]) as again:
            assert json.loads(await asyncio.wait_for(again.recv(), 5)) == {"from": "system", "body": "zed joined"}
        report(
            "web process SIGKILLed: chat nickname",
            stale_after_s=FAST["CHAT_SESSION_STALE_AFTER"],
            freed_after_s=freed_after,
        )
    finally:
        survivor.stop()
        doomed.stop()


@pytest.mark.faults
async def test_a_killed_server_frees_its_nane_usernames_after_the_window(tmp_path_factory):
    doomed = start_server(tmp_path_factory, "nane-doomed", **FAST)
    survivor = second_server(doomed)
    try:
        ws = await connect(f"{doomed.ws_url}/ws?username=yan")
        await ws.send(json.dumps({"ping": True}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"pong": True}
        assert auth(survivor, "yan") is None, "a nane user on another process holds the name"
        doomed.process.send_signal(signal.SIGKILL)  # no disconnect handler runs: the name stays held
        doomed.process.wait()
        killed = time.monotonic()

        deadline = killed + 15
        while auth(survivor, "yan") is None:
            assert time.monotonic() < deadline, "the dead server's nane name never went stale"
            await asyncio.sleep(0.1)
        report(
            "web process SIGKILLed: nane username",
            stale_after_s=FAST["CHAT_SESSION_STALE_AFTER"],
            freed_after_s=round(time.monotonic() - killed, 2),
        )
    finally:
        survivor.stop()
        doomed.stop()
