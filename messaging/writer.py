"""Stores the chat messages of this process several to a transaction, then broadcasts them.

At hundreds of messages a second, a transaction per message (room row, insert, history
trim, commit) is most of the server's time. Consumers hand their messages to the one
writer of their event loop and await them: while one batch is written, the next gathers.
A consumer's own frames stay in order, a flood from one socket is paced by the database,
and nothing is broadcast before it is committed. Batches are broadcast in the order they
were committed, as one broadcast each: a socket gets a batch's frames in one write.
"""

import asyncio
import logging

from django.conf import settings

from chatsite.core.database import DatabaseThread
from chatsite.core.metrics import CHAT_MESSAGES
from messaging import services
from messaging.broker import get_broker, per_loop

log = logging.getLogger(__name__)

# Every writer of the process stores through this one thread, one batch at a time.
database = DatabaseThread("chat-writer")


class MessageWriter:
    def __init__(self, broker=None):
        self.broker = broker or get_broker()
        self.pending = []
        self.task = None

    async def post(self, post):
        """Store `post` (a services.Post) with whatever else is waiting; returns it as services.Posted."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((post, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.write())
        return await future

    async def write(self):
        while self.pending:
            batch = self.pending[: settings.CHAT_WRITE_BATCH]
            del self.pending[: settings.CHAT_WRITE_BATCH]
            try:
                posted, broadcast = await database.run(services.post_messages, [post for post, _ in batch])
            except Exception as error:
                log.warning("chat: storing a batch of %d messages failed: %s", len(batch), error)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            CHAT_MESSAGES.inc(len(batch))  # once per stored batch
            try:
                self.broker.publish(broadcast)
            except Exception:
                # Stored is stored: the senders are answered, the others find it in the history.
                log.exception("chat: broadcasting a stored batch failed")
            for (_, future), stored in zip(batch, posted, strict=True):
                if future.done():
                    continue
                if isinstance(stored, services.ChatError):  # this post alone was refused
                    future.set_exception(stored)
                else:
                    future.set_result(stored)


get_writer = per_loop(MessageWriter)
