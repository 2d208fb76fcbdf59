"""The nane usernames this process's sockets hold, and the one heartbeat that keeps them held.

A nane username is a row of the chat's names (`ChatSession`, dialect `nane`), so that the
token dialect, on any node, sees it taken. Sockets of one spelling share the row: the
first claims it, the last one here to leave frees it, and in between no socket costs a
database hop. Names claimed together, and names freed together, take one transaction:
when a thousand sockets come or leave at once (a network gone, a restart), a transaction
each kept the server busy for seconds. Every node holding names refreshes them all in
one UPDATE per CHAT_SESSION_HEARTBEAT_INTERVAL; a node that dies stops refreshing, and
its names are free again after CHAT_SESSION_STALE_AFTER, as token sessions are.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from django.conf import settings

from chatsite.core import database
from chatsite.core.batches import Batcher
from chatsite.core.names import name_key
from messaging import services
from messaging.broker import per_loop

log = logging.getLogger(__name__)


@dataclass
class Holding:
    username: str
    session_id: int
    sockets: set = field(default_factory=set)


class NaneNames:
    def __init__(self):
        self.held = {}  # name key → Holding
        self.locks = {}  # name key → [asyncio.Lock, users]: a name's claim and release never interleave
        self.heartbeat = None
        self.claims = Batcher(self.claim, lambda: settings.CHAT_WRITE_BATCH)
        self.releases = Batcher(self.release, lambda: settings.CHAT_WRITE_BATCH)

    async def enter(self, username, socket):
        """Hold `username` for `socket`; False when someone else speaks as that name."""
        key = name_key(username)
        async with self.lock(key):
            holding = self.held.get(key)
            if holding is None:
                session_id = await self.claims.submit(username)
                if session_id is None:
                    return False
                holding = self.held[key] = Holding(username, session_id)
                self.keep_alive()
            elif holding.username != username:
                return False
            holding.sockets.add(socket)
            return True

    async def leave(self, username, socket):
        """`socket` is gone; the name is freed when it was the last here to hold it."""
        key = name_key(username)
        async with self.lock(key):
            holding = self.held.get(key)
            if holding is None or socket not in holding.sockets:
                return
            holding.sockets.discard(socket)
            if holding.sockets:
                return
            del self.held[key]
            try:
                await self.releases.submit(holding.session_id)
            except Exception:
                # Not refreshed any more: the name is free once stale (CHAT_SESSION_STALE_AFTER).
                log.exception("chat: freeing the nane name %s failed; it frees itself when stale", username)

    async def claim(self, usernames):
        return await database.run(services.claim_nane_names, usernames)

    async def release(self, session_ids):
        await database.run(services.release_nane_names, session_ids)
        return [None] * len(session_ids)

    def keep_alive(self):
        if self.heartbeat is None or self.heartbeat.done():
            self.heartbeat = asyncio.create_task(self.beat(), name="nane-names-heartbeat")

    async def beat(self):
        while self.held:
            await asyncio.sleep(settings.CHAT_SESSION_HEARTBEAT_INTERVAL)
            keys = {holding.session_id: key for key, holding in self.held.items()}
            try:
                lost = await database.run(services.refresh_nane_names, list(keys))
            except Exception:
                log.exception("chat: the heartbeat of %d nane names failed; trying again", len(keys))
                continue
            for session_id in lost:
                await self.claim_again(keys[session_id], session_id)

    async def claim_again(self, key, lost_id):
        """A name's row was ended elsewhere (another node's last socket of that spelling left, or it went stale).

        Claim it again for the sockets here; if someone else has taken it meanwhile, they
        are told and closed, as token sessions are when taken over.
        """
        async with self.lock(key):
            holding = self.held.get(key)
            if holding is None or holding.session_id != lost_id:
                return
            session_id = await self.claims.submit(holding.username)
            if session_id is not None:
                holding.session_id = session_id
                return
            del self.held[key]
        for socket in tuple(holding.sockets):
            await socket.name_lost()

    def lock(self, key):
        return KeyLock(self.locks, key)


class KeyLock:
    """The lock of one key in `locks`, dropped from it once nobody holds or waits for it."""

    def __init__(self, locks, key):
        self.locks, self.key = locks, key

    async def __aenter__(self):
        entry = self.locks.setdefault(self.key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            await entry[0].acquire()
        except BaseException:
            self._drop(entry)
            raise

    async def __aexit__(self, *exc_info):
        entry = self.locks[self.key]
        entry[0].release()
        self._drop(entry)

    def _drop(self, entry):
        entry[1] -= 1
        if not entry[1]:
            del self.locks[self.key]


get_nane_names = per_loop(NaneNames)
