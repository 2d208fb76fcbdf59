"""PostgreSQL: the hot paths' libpq cursor sends and reads values as psycopg would, and fails as Django's cursors do."""

import datetime
import uuid

import pytest
from django.db import (
    DataError,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    connection,
    transaction,
)

from chatsite.core.database import clean_up
from chatsite.core.postgresql.libpq_cursor import Statements, numbered
from chatsite.core.sql import driver_cursor

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the libpq cursor is PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def own_session():
    connection.close()
    yield
    connection.close()


def one_row(sql, params=()):
    with driver_cursor(connection) as cursor:
        return cursor.execute(sql, params).fetchone()


def test_values_go_and_come_back_as_they_were():
    text = 'it\'s a "quote", a \\ backslash, ünïcode ☃ and 😀'
    key = uuid.uuid4()
    moment = datetime.datetime(2026, 12, 6, 20, 14, 13, 123456, tzinfo=datetime.UTC)
    row = one_row(
        "SELECT %s::text, %s::bigint, %s::integer, %s::boolean, %s::boolean, %s::bytea, %s::text,"
        " %s::uuid = %s::uuid, %s::timestamptz = '2026-12-06 20:14:13.123456+00', %s::json",
        (text, -(2**62), 7, True, False, b"\x00\xff\\'", None, key, str(key), moment, '{"a": [1]}'),
    )
    assert row == (text, -(2**62), 7, True, False, b"\x00\xff\\'", None, True, True, '{"a": [1]}')


def test_lists_go_as_arrays_element_for_element():
    texts = ['a "quote"', "a \\ backslash", "NULL", None, "", " spaced ", "{braces}", "a, comma", "ünïcode ☃"]
    with driver_cursor(connection) as cursor:
        assert cursor.execute("SELECT unnest(%s::text[])", (texts,)).fetchall() == [(text,) for text in texts]
        blobs = [b"\x00\xff", b'"\\', b""]
        assert cursor.execute("SELECT unnest(%s::bytea[])", (blobs,)).fetchall() == [(blob,) for blob in blobs]
        numbers = [-(2**62), 0, None]
        assert cursor.execute("SELECT unnest(%s::bigint[])", (numbers,)).fetchall() == [(n,) for n in numbers]
        assert cursor.execute("SELECT unnest(%s::boolean[])", ([True, False],)).fetchall() == [(True,), (False,)]
    with pytest.raises(DataError, match="NUL"):
        one_row("SELECT unnest(%s::text[])", (["fine", "not\x00fine"],))


def test_a_percent_sign_is_written_twice_as_for_psycopg():
    assert numbered("SELECT '5%%', %s, %s") == b"SELECT '5%', $1, $2"
    assert one_row("SELECT '5%%'::text, %s::int", (7,)) == ("5%", 7)


def test_fetchone_and_fetchall_share_the_rows():
    with driver_cursor(connection) as cursor:
        cursor.execute("SELECT generate_series(1, 3)::int")
        assert cursor.fetchone() == (1,)
        assert cursor.fetchall() == [(2,), (3,)]
        assert cursor.fetchone() is None
        cursor.execute("SELECT 1::int WHERE false")
        assert cursor.fetchall() == []


def test_nul_in_a_text_is_refused_before_anything_is_sent():
    # libpq takes a text parameter up to its first NUL: sent, it would be cut there silently.
    with pytest.raises(DataError, match="NUL"):
        one_row("SELECT %s::text", ("before\x00after",))


def test_a_lone_surrogate_is_refused_as_invalid_data():
    with pytest.raises(DataError, match="not valid Unicode"):
        one_row("SELECT %s::text", ("half a pair: \ud800",))


def test_a_type_it_cannot_send_or_read_is_a_clear_error():
    with pytest.raises(ProgrammingError, match="float"):
        one_row("SELECT %s::float8", (1.5,))
    with pytest.raises(ProgrammingError, match="list"):  # an array's elements are scalars
        one_row("SELECT %s::int[]", ([[1, 2]],))
    with pytest.raises(NotSupportedError, match="oid 1184"):
        one_row("SELECT now()")


def test_errors_are_djangos_of_the_servers_sqlstate():
    with pytest.raises(DataError, match="division by zero"):
        one_row("SELECT 1 / %s::int", (0,))
    one_row("CREATE TEMPORARY TABLE once (id int PRIMARY KEY)")
    one_row("INSERT INTO once VALUES (%s)", (1,))
    with pytest.raises(IntegrityError, match="duplicate key"):
        one_row("INSERT INTO once VALUES (%s)", (1,))
    assert one_row("SELECT count(*) FROM once") == (1,)


def test_a_statement_that_opens_djangos_transaction_is_part_of_it():
    one_row("CREATE TEMPORARY TABLE kept (id int)")

    def rolled_back():
        with transaction.atomic():
            one_row("INSERT INTO kept VALUES (%s)", (1,))  # the first statement of the transaction
            one_row("INSERT INTO kept VALUES (%s)", (2,))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert one_row("SELECT count(*) FROM kept") == (0,)
    with transaction.atomic():
        one_row("INSERT INTO kept VALUES (%s)", (3,))
    assert one_row("SELECT id FROM kept") == (3,)


def test_a_connection_lost_fails_one_statement_and_the_next_opens_another():
    assert one_row("SELECT %s::int", (1,)) == (1,)
    lost = connection.connection.info.backend_pid
    with pytest.raises(OperationalError):
        one_row("SELECT pg_terminate_backend(pg_backend_pid())")
    clean_up()  # what the chat writer's thread runs after each call
    assert one_row("SELECT %s::int", (2,)) == (2,)
    assert connection.connection.info.backend_pid != lost


def test_texts_that_vary_stop_being_prepared_past_the_cap():
    with driver_cursor(connection) as cursor:
        for n in range(Statements.MAX_PREPARED + 5):
            assert cursor.execute(f"SELECT %s::int + {n}", (1,)).fetchone() == (1 + n,)
        (count,) = cursor.execute("SELECT count(*)::int FROM pg_prepared_statements").fetchone()
    assert count == Statements.MAX_PREPARED
