"""Django's PostgreSQL backend, with a health check that asks the server only when it has spoken,
and a cursor whose statements are prepared for the hot paths.

With CONN_HEALTH_CHECKS, Django checks a kept connection at the start of each request
cycle, and each chat batch is one, by sending `SELECT 1`: a round trip to another process
before the work itself, which on the chat's write path is one of two (bench/README.md).

A connection at rest in autocommit hears nothing from the server unless it is going away:
a terminated backend sends its FATAL message and closes, a dead one leaves end of file,
and both make the socket readable. So a connection that is idle, not broken, with nothing
to read is usable without asking; anything else gets Django's `SELECT 1`, which reads
what is waiting and decides. A failure the socket cannot show (a peer gone without a
word) is found as before: the next query fails and Django closes the connection at the
end of that request cycle.

The look is `poll`, not `select`: `select` refuses a descriptor past FD_SETSIZE (1024),
which a web process holding a thousand sockets hands to the next connection it opens.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE and not readable_now(connection.fileno()):
            return True
        return super().is_usable()

    def prepared_cursor(self):
        """The cursor of chatsite.core.sql's statements: bound server-side, so that psycopg
        prepares each once it has run `prepare_threshold` times (DATABASE_PREPARED_STATEMENTS).

        Django's cursors bind client-side, which psycopg never prepares: PostgreSQL parses,
        analyses and plans the chat's one-statement write on every message, more CPU than
        running it (bench/README.md).
        """
        return psycopg.Cursor(self.connection)


def readable_now(descriptor):
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))
