"""chatsite/sqlite: the threads of one process take turns writing instead of failing or sleeping."""

import threading

import pytest
from django.db import connection, transaction

from nameserver import services
from nameserver.models import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the writer lock is part of the SQLite backend only")


def in_thread(function, *args):
    errors = []

    def run():
        try:
            function(*args)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def register_many(prefix, count):
    for n in range(count):
        services.register_client(ip="192.0.2.1", port=1000 + n, name=f"{prefix}-{n}")


def test_writers_in_several_threads_all_get_through():
    started = [in_thread(register_many, f"t{n}", 25) for n in range(4)]
    for thread, _ in started:
        thread.join()
    assert [error for _, errors in started for error in errors] == []
    assert Client.objects.count() == 100


@transaction.atomic
def register_then_fail():
    register_many("undone", 1)
    raise RuntimeError("rolled back")


def test_a_rolled_back_transaction_lets_the_next_writer_in():
    with pytest.raises(RuntimeError):
        register_then_fail()
    thread, errors = in_thread(register_many, "after", 1)
    thread.join()
    assert errors == []
    assert list(Client.objects.values_list("name", flat=True)) == ["after-0"]
