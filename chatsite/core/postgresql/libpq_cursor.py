"""The hot paths' cursor on PostgreSQL: their statements run on libpq through psycopg's `pq` module.

psycopg's own `Cursor` builds a query object, runs a generator through its waiting loop
and adapts every value through its `Transformer` on each `execute`. For the chat's
one-statement write that was most of the writer thread's CPU: 142 to 171 µs back to back and
483 to 549 µs after a pause (a message at 30 a second), against 50 to 62 and 176 to 193 µs for
the same statement straight on `PGconn.exec_prepared` (bench/README.md, "The production
configuration"). The statements of `chatsite.core.sql` are few and fixed, and so are the
types they pass and read back, so the values go as text and come back as text,
converted here for those types alone.

What psycopg's `Connection` keeps is left as it is: the connection stays Django's and
psycopg's, and its state (transaction, closed, broken) is libpq's, which both read. The
first statement of a transaction Django opened, and `executemany` (which pipelines the
rows), are psycopg's own. psycopg's lock is not taken: Django never shares a connection
between threads.

Everything used is psycopg's documented libpq wrapper (`Connection.pgconn`, `psycopg.pq`)
and its documented exceptions (`psycopg.errors.lookup`).
"""

import datetime
import functools
import itertools
import uuid

import psycopg
from psycopg import errors, pq

OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
UNDEFINED_STATEMENT = b"26000"  # invalid_sql_statement_name: no prepared statement of that name

# Result columns as text, by type oid: what the hot paths' statements return.
DECODERS = {
    16: lambda value: value == b"t",  # boolean
    17: lambda value: bytes.fromhex(value[2:].decode()),  # bytea, hex output (PostgreSQL 9.0 on)
    19: bytes.decode,  # name
    20: int,  # bigint
    21: int,  # smallint
    23: int,  # integer
    25: bytes.decode,  # text
    26: int,  # oid
    114: bytes.decode,  # json, left as its text
    1042: bytes.decode,  # character
    1043: bytes.decode,  # character varying
}


class Statements:
    """One connection's prepared statements: each prepared at its first use, under a name
    psycopg does not use, unless DATABASE_PREPARED_STATEMENTS is off.

    The hot paths' texts are fixed, a dozen or so. Past `MAX_PREPARED` of them (a caller
    passing texts that vary, which `driver_cursor(prepared=False)` is for) the others run
    unprepared, so neither this nor the server's memory grows with what clients send.
    psycopg never prepares on Django's connections (Django leaves its `prepare_threshold`
    at None), so it never sends the `DEALLOCATE ALL` it sends after a rollback when it has.
    """

    MAX_PREPARED = 100

    def __init__(self, connection: psycopg.Connection, enabled: bool) -> None:
        self.connection, self.enabled = connection, enabled
        self.names = {}  # query text → the name it is prepared under
        # Never a name twice: after `forget`, the server may still hold some of the old ones.
        self.numbers = itertools.count()

    def name(self, query: bytes) -> bytes | None:
        """The name to execute `query` under, prepared now if it is new; None to run it unprepared."""
        name = self.names.get(query)
        if name is None and self.enabled and len(self.names) < self.MAX_PREPARED:
            name = b"chatsite_%d" % next(self.numbers)
            check(self.connection.pgconn.prepare(name, query))
            self.names[query] = name
        return name

    def forget(self) -> None:
        """One of them is gone from the server (DISCARD ALL, DEALLOCATE): prepare each again at its next use."""
        self.names.clear()


class LibpqCursor:
    """A DB-API cursor for `chatsite.core.sql`'s statements: `execute` (returns the cursor),
    `executemany`, `fetchone`, `fetchall`, `close`."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements
        self.connection = statements.connection
        self.rows = iter(())

    def execute(self, query: str, params=()) -> "LibpqCursor":
        pgconn = self.connection.pgconn
        if not self.connection.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            # A transaction Django opened (`atomic`) that psycopg has not begun on the server
            # yet, as it does before its next statement: psycopg runs this one, to begin it.
            with psycopg.Cursor(self.connection) as cursor:
                cursor.execute(query, params)
                self.rows = iter(cursor.fetchall() if cursor.description else ())
            return self
        text, values = numbered(query), [encode(value) for value in params]
        result = self.run(text, values)
        if undefined_statement(result):
            # Deallocated behind our back (a pooler's reset). Refused before it ran: outside a
            # transaction run it once more, prepared anew; inside one, the transaction is lost.
            self.statements.forget()
            if pgconn.transaction_status == pq.TransactionStatus.IDLE:
                result = self.run(text, values)
            if undefined_statement(result):
                raise psycopg.errors.InvalidSqlStatementName(
                    f"{result.error_message.decode(errors='replace').strip()} (a pooler that does not "
                    "keep prepared statements needs DATABASE_PREPARED_STATEMENTS=0)"
                )
        check(result)
        self.rows = iter(decode_rows(result))
        return self

    def run(self, text: bytes, values: list) -> pq.abc.PGresult:
        name = self.statements.name(text)
        if name is None:
            return self.connection.pgconn.exec_params(text, values)
        return self.connection.pgconn.exec_prepared(name, values)

    def executemany(self, query: str, params_seq) -> None:
        with psycopg.Cursor(self.connection) as cursor:
            cursor.executemany(query, params_seq)
        self.rows = iter(())

    def fetchone(self) -> tuple | None:
        return next(self.rows, None)

    def fetchall(self) -> list[tuple]:
        return list(self.rows)

    def close(self) -> None:
        self.rows = iter(())


@functools.lru_cache(maxsize=256)
def numbered(query: str) -> bytes:
    """`%s` placeholders as libpq's `$1`, `$2`… (`%%` is a percent sign, as psycopg reads it)."""
    parts = query.split("%%")
    count = 0
    for i, part in enumerate(parts):
        pieces = part.split("%s")
        for j in range(1, len(pieces)):
            count += 1
            pieces[j] = f"${count}{pieces[j]}"
        parts[i] = "".join(pieces)
    return "%".join(parts).encode()


def encode(value) -> bytes | None:
    """A parameter as PostgreSQL's text input of it; the statement's context (a cast) gives its type.

    A list is an array's input (`{"a","b",NULL}`): one parameter for a batch's column, which
    the hot paths' statements take apart with `unnest`.
    """
    if value is None:
        return None
    text = array(value) if isinstance(value, list) else scalar(value)
    if "\x00" in text:  # libpq would end the value there, silently
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    try:
        return text.encode()
    except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 for it
        raise psycopg.DataError(f"a parameter is not valid Unicode: {error.reason} at {error.start}") from None


def array(values: list) -> str:
    """Each element quoted, its backslashes and quotes escaped: whatever else it holds stays in it."""
    elements = ("NULL" if value is None else quoted(scalar(value)) for value in values)
    return "{" + ",".join(elements) + "}"


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scalar(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: a bool is an int
        return "t" if value else "f"
    if isinstance(value, int | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise psycopg.ProgrammingError(f"cannot send a {type(value).__name__} as a parameter of a hot-path statement")


def decode_rows(result: pq.abc.PGresult) -> list[tuple]:
    columns = range(result.nfields)
    decoders = []
    for column in columns:
        decoder = DECODERS.get(result.ftype(column))
        if decoder is None:
            raise psycopg.NotSupportedError(
                f"column {result.fname(column).decode()} has type oid {result.ftype(column)}, "
                "which chatsite.core.postgresql.libpq_cursor does not read"
            )
        decoders.append(decoder)
    get = result.get_value
    return [
        tuple(None if (value := get(row, column)) is None else decoders[column](value) for column in columns)
        for row in range(result.ntuples)
    ]


def undefined_statement(result: pq.abc.PGresult) -> bool:
    return result.status not in OK and result.error_field(pq.DiagnosticField.SQLSTATE) == UNDEFINED_STATEMENT


def check(result: pq.abc.PGresult) -> None:
    """Raise what psycopg raises for a failed statement: the error class of its SQLSTATE."""
    if result.status in OK:
        return
    message = result.error_message.decode(errors="replace").strip() or "the statement failed"
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    if state is None:  # no answer from the server: the connection is gone
        raise psycopg.OperationalError(message)
    try:
        error = errors.lookup(state.decode())
    except KeyError:
        error = psycopg.DatabaseError
    raise error(message)
