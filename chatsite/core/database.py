"""How async code reaches the database: the one way, for every consumer and service of the event loop.

The ORM and the drivers block, so database work never runs on the event loop. A
coroutine hands it to a `DatabaseThread` and awaits the answer:

- `await database.run(function, *args)`: the process's shared thread, for the consumers'
  work (chat commands and nicknames, signaling rows);
- a `DatabaseThread` of its own where a path must never wait behind the others: the chat
  writer's store, each contacts replica's writes and its reads.

Each thread runs its calls one at a time, in the order they were made, over a plain queue
and `call_soon_threadsafe`: several times cheaper a hop than asgiref's thread-pool
executor, which Channels' `database_sync_to_async` uses (bench/README.md).

Connections stay Django's: each thread has its own, opened on first use. `clean_up()`
runs before and after every call, as Django runs it at the start and end of each request,
so a broken connection or one past `CONN_MAX_AGE` is closed and the next call opens a new
one; the HTTP bridge's threads get the same from Django's request signals.
"""

import asyncio
import contextlib
import queue
import threading

from django.db import close_old_connections, connections


def clean_up():
    """Close this thread's connections that are broken or past CONN_MAX_AGE (Django's request-cycle clean-up)."""
    close_old_connections()


class DatabaseThread:
    """A thread that runs database work for coroutines, one call at a time, in order."""

    def __init__(self, name):
        self.name = name
        self.calls = queue.SimpleQueue()
        self.thread = None
        self.starting = threading.Lock()

    async def run(self, function, *args):
        """`function(*args)` on this thread; its result, or its exception raised here."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._start()
        self.calls.put((loop, future, function, args))
        return await future

    def _start(self):
        with self.starting:
            if self.thread is None:
                # A daemon: an interpreter that exits does not wait for it (a call in
                # flight is a transaction never committed, so nothing half-written stays).
                self.thread = threading.Thread(target=self._serve, args=(self.calls,), name=self.name, daemon=True)
                self.thread.start()

    async def close(self):
        """Run the calls already made, close this thread's connections and end it; a later call starts a new one."""
        loop = asyncio.get_running_loop()
        closed = loop.create_future()
        with self.starting:
            if self.thread is None:
                return
            self.calls.put((loop, closed, connections.close_all, ()))
            self.calls.put(None)
            self.thread, self.calls = None, queue.SimpleQueue()
        await closed

    def _serve(self, calls):
        while (call := calls.get()) is not None:
            loop, future, function, args = call
            clean_up()
            try:
                outcome = (_set_result, future, function(*args))
            except BaseException as error:
                outcome = (_set_exception, future, error)
            finally:
                clean_up()
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the answer
                loop.call_soon_threadsafe(*outcome)


def _set_result(future, result):
    if not future.done():
        future.set_result(result)


def _set_exception(future, error):
    if not future.done():
        future.set_exception(error)


# The consumers' thread: the work of every socket of the process, in the order it was asked for.
shared = DatabaseThread("database")


async def run(function, *args):
    """`function(*args)` on the process's shared database thread; its result, or its exception raised here."""
    return await shared.run(function, *args)
