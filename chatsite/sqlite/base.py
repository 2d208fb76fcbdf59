"""SQLite, with the writers of this process queued on a lock instead of in SQLite's busy handler.

SQLite lets one connection write at a time. The others wait in its busy handler, which
sleeps 1, 2, 5 ... 100 ms between tries, so under contention the threads of one web
process slept while the database was free (`PATCH /client` used 39 % of its core). Every
transaction starts with BEGIN IMMEDIATE (settings.py), so a process-wide lock taken just
before it hands the database to the next writer the moment the last one ends. Writers in
other processes still meet the busy handler.
"""

import threading

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_writer = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    holds_writer_lock = False

    def _start_transaction_under_autocommit(self):
        if not _writer.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5)):
            raise OperationalError("database is locked: another thread of this process kept its transaction open")
        self.holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()

    def _release_writer_lock(self):
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            _writer.release()
