"""A thread of its own that runs ORM work for the event loop, for paths hot enough to need it.

Channels' `database_sync_to_async` (asgiref's SyncToAsync on a thread-pool executor)
costs several times the CPU per call of a plain queue and `call_soon_threadsafe`, and the
chat stores every message through one such call, so the hop is a large part of its CPU
per message (bench/README.md, "What changed, and why"); the contacts replica stores and
reads through two such threads, one hop per batch of writes or per read. Calls run one
at a time, in the order they were made, with the same connection hygiene as
`database_sync_to_async`: stale connections are closed before and after each call.
"""

import asyncio
import contextlib
import queue
import threading

from django.db import close_old_connections


class DatabaseThread:
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

    def close(self):
        """Let the thread end once the calls already made have run; a later call starts a new one."""
        with self.starting:
            if self.thread is not None:
                self.calls.put(None)
                self.thread, self.calls = None, queue.SimpleQueue()

    def _serve(self, calls):
        while (call := calls.get()) is not None:
            loop, future, function, args = call
            close_old_connections()
            try:
                outcome = (_set_result, future, function(*args))
            except BaseException as error:
                outcome = (_set_exception, future, error)
            finally:
                close_old_connections()
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the answer
                loop.call_soon_threadsafe(*outcome)


def _set_result(future, result):
    if not future.done():
        future.set_result(result)


def _set_exception(future, error):
    if not future.done():
        future.set_exception(error)
