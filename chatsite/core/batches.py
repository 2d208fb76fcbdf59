"""Work handed in by many coroutines of one event loop, done several items at a time.

While one batch is in the database, the next gathers: at hundreds of items a second, one
transaction per batch instead of per item is most of the saving (the chat's messages,
messaging/writer.py; the nane names its sockets free, messaging/nane_names.py).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Batcher:
    """Hands items to `handle`, at most `limit()` at a time, from one task; each caller awaits its own outcome.

    `handle(items)` returns one outcome per item, in order: a result, or an exception for
    that item alone. An exception it raises is every item's of the batch.
    """

    def __init__(self, handle: Callable[[list], Awaitable[Sequence[Any]]], limit: Callable[[], int]) -> None:
        self.handle, self.limit = handle, limit
        self.pending = []
        self.task = None

    async def submit(self, item: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())
        return await future

    async def run(self) -> None:
        while self.pending:
            batch = self.pending[: self.limit()]
            del self.pending[: len(batch)]
            try:
                outcomes = await self.handle([item for item, _ in batch])
            except Exception as error:
                outcomes = [error] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller was cancelled meanwhile
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
