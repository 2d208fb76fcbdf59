"""The Kozma bot (docs/protocols/chat.md): an ordinary nane-dialect client posting aphorisms into room `kozma`."""

import asyncio
import contextlib
import json
import logging
import random
import signal
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from messaging.aphorisms import APHORISMS

log = logging.getLogger(__name__)

USERNAME = "Козьма Прутков"


class Kozma:
    """Connects, posts an aphorism every 0..max_interval s, reconnects whenever the server goes away."""

    def __init__(self, url, room="kozma", start_delay=5.0, max_interval=59.0, max_backoff=10.0):
        self.ws_url = f"{url.rstrip('/')}/ws?username={quote(USERNAME)}"
        self.shown_url = f"{url.rstrip('/')}/ws?username={USERNAME}"  # for the log: people read it
        self.room, self.start_delay, self.max_interval, self.max_backoff = room, start_delay, max_interval, max_backoff
        self.stopping = asyncio.Event()
        self.posted = 0

    async def run(self):
        await self.pause(self.start_delay)
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                async with connect(self.ws_url, open_timeout=10) as ws:
                    log.info("kozma: connected to %s", self.shown_url)
                    backoff = 0.5
                    await self.converse(ws)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as error:
                log.warning("kozma: %s unreachable (%s); retrying in %.1f s", self.shown_url, error, backoff)
                await self.pause(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def converse(self, ws):
        """Post until the connection or the bot ends; incoming frames are read and dropped."""
        reader = asyncio.create_task(self.drain(ws))
        poster = asyncio.create_task(self.post_forever(ws))
        stopper = asyncio.create_task(self.stopping.wait())
        done, pending = await asyncio.wait({reader, poster, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        # Wait for them before the socket closes: a send cut short by the close would
        # otherwise end as "Task exception was never retrieved" in the log.
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task is not stopper and task.exception():
                raise task.exception()

    async def drain(self, ws):
        # nane sends every room to every session: keep reading so the server never blocks on us.
        async for frame in ws:
            if '"error"' in frame:
                log.warning("kozma: the server refused a message: %s", frame)

    async def post_forever(self, ws):
        # `pause` returns at once once stopping, and a cancel can be lost in 3.11's wait_for: check.
        while not self.stopping.is_set():
            await self.post_one(ws)
            await self.pause(random.uniform(0, self.max_interval))

    async def post_one(self, ws):
        await ws.send(json.dumps({"room": self.room, "text": random.choice(APHORISMS)}, ensure_ascii=False))
        self.posted += 1

    async def pause(self, seconds):
        """Sleep, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)


class Command(BaseCommand):
    help = "Run Козьма Прутков: a nane-dialect bot posting aphorisms into room kozma."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.KOZMA_URL, help="server base URL (default: KOZMA_URL)")
        parser.add_argument("--room", default="kozma")
        parser.add_argument("--start-delay", type=float, default=5.0, help="seconds before the first post")
        parser.add_argument("--max-interval", type=float, default=59.0, help="posts come every 0..N seconds")
        parser.add_argument("--max-backoff", type=float, default=10.0, help="longest wait between reconnects")

    def handle(self, *args, **options):
        bot = Kozma(
            options["url"],
            room=options["room"],
            start_delay=options["start_delay"],
            max_interval=options["max_interval"],
            max_backoff=options["max_backoff"],
        )
        asyncio.run(self.serve(bot))

    async def serve(self, bot):
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, bot.stopping.set)
        await bot.run()
        self.stdout.write(f"kozma: stopped after {bot.posted} posts")
