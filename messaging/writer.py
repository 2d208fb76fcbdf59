"""Stores the chat messages of this process several to a transaction, then broadcasts them.

At hundreds of messages a second, a transaction per message (room row, insert, history
trim, commit) is most of the server's time. Consumers hand their messages to the one
writer of their event loop and await them: while one batch is written, the next gathers.
A consumer's own frames stay in order, a flood from one socket is paced by the database,
and nothing is broadcast before it is committed. Batches are broadcast in the order they
were committed, as one broadcast each: a socket gets a batch's frames in one write.
"""

import logging

from django.conf import settings

from chatsite.core.batches import Batcher
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
        self.batches = Batcher(self.store, lambda: settings.CHAT_WRITE_BATCH)

    async def post(self, post):
        """Store `post` (a services.Post) with whatever else is waiting; returns it as services.Posted."""
        return await self.batches.submit(post)

    async def store(self, posts):
        """Store a batch and broadcast it; each post's services.Posted, or its ChatError if refused alone."""
        try:
            posted, broadcast = await database.run(services.post_messages, posts)
        except Exception as error:
            log.warning("chat: storing a batch of %d messages failed: %s", len(posts), error)
            raise
        CHAT_MESSAGES.inc(len(posts))  # once per stored batch
        try:
            self.broker.publish(broadcast)
        except Exception:
            # Stored is stored: the senders are answered, the others find it in the history.
            log.exception("chat: broadcasting a stored batch failed")
        return posted


get_writer = per_loop(MessageWriter)
