"""Stores the chat messages of this process several to a transaction.

At hundreds of messages a second, a transaction per message (room row, insert, history
trim, commit) is most of the server's time. Consumers hand their messages to the one
writer of their event loop and await them: while one batch is written, the next gathers.
A consumer's own frames stay in order, a flood from one socket is paced by the database,
and nothing is acknowledged (broadcast) before it is committed.
"""

import asyncio

from channels.db import database_sync_to_async
from django.conf import settings

from messaging import services
from messaging.hub import per_loop


class MessageWriter:
    def __init__(self):
        self.pending = []
        self.task = None

    async def post(self, post):
        """Store `post` (a services.Post) with whatever else is waiting; returns its Message."""
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
                messages = await database_sync_to_async(services.post_messages)([post for post, _ in batch])
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            else:
                for (_, future), message in zip(batch, messages, strict=True):
                    if not future.done():
                        future.set_result(message)


get_writer = per_loop(MessageWriter)
