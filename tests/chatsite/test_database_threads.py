"""How async code reaches the database (chatsite/core/database.py): off the loop, in order, connections cleaned up."""

import asyncio
import threading

import pytest
from django.db import connection, connections

from chatsite.core import database
from chatsite.core.database import DatabaseThread
from messaging.models import Room

pytestmark = pytest.mark.django_db(transaction=True)


def open_connection():
    """Open this thread's connection; the thread it runs on."""
    connection.ensure_connection()
    return threading.current_thread().name


def opened_connection():
    """This thread's connection to the database, opened."""
    connection.ensure_connection()
    return connections["default"]


async def test_a_call_runs_on_the_database_thread_and_answers_the_caller():
    assert await database.run(open_connection) == "database"
    assert await database.run(lambda: Room.objects.create(key="k", name="K").name) == "K"


async def test_an_exception_of_the_call_is_raised_in_the_caller_and_the_thread_goes_on():
    def broken():
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        await database.run(broken)
    assert await database.run(lambda: 42) == 42


async def test_calls_run_one_at_a_time_in_the_order_they_were_made():
    thread, ran = DatabaseThread("ordered"), []
    try:
        await asyncio.gather(*(thread.run(ran.append, n) for n in range(50)))
    finally:
        await thread.close()
    assert ran == list(range(50))


async def test_a_connection_past_conn_max_age_is_closed_once_the_call_that_used_it_returns():
    # The test settings keep no connection (CONN_MAX_AGE 0): Django's request cycle would close it.
    thread = DatabaseThread("clean-up")
    try:
        used = await thread.run(opened_connection)
        assert used.connection is None
    finally:
        await thread.close()


async def test_closing_a_thread_closes_its_kept_connection_and_a_later_call_starts_a_new_thread():
    shared = connections["default"].settings_dict  # every thread's connection reads this one
    shared["CONN_MAX_AGE"] = None  # kept for good: only close() closes it
    thread = DatabaseThread("closing")
    try:
        kept = await thread.run(opened_connection)
        assert kept.connection is not None
        first = thread.thread
        await thread.close()
        assert kept.connection is None
        first.join(timeout=10)
        assert not first.is_alive()
        assert await thread.run(lambda: threading.current_thread().name) == "closing"
        assert thread.thread is not first
    finally:
        shared["CONN_MAX_AGE"] = 0
        await thread.close()
