"""Django's PostgreSQL backend, with a health check that asks the server only when it has spoken,
and the hot paths' cursor (chatsite.core.postgresql.libpq_cursor).

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

from django.conf import settings
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

from chatsite.core.postgresql.libpq_cursor import LibpqCursor, Statements


class DatabaseWrapper(base.DatabaseWrapper):
    statements = None  # of the open connection: chatsite.core.postgresql.libpq_cursor.Statements

    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE and not readable_now(connection.fileno()):
            return True
        return super().is_usable()

    def prepared_cursor(self):
        """The cursor of chatsite.core.sql's statements: on libpq, each statement bound
        server-side and prepared at its first use (DATABASE_PREPARED_STATEMENTS).

        Django's cursors bind client-side, which psycopg never prepares: PostgreSQL parses,
        analyses and plans the chat's one-statement write on every message, more CPU than
        running it (bench/README.md).
        """
        if self.statements is None or self.statements.connection is not self.connection:
            # A new connection has prepared nothing.
            self.statements = Statements(self.connection, settings.DATABASE_PREPARED_STATEMENTS)
        return LibpqCursor(self.statements)


def readable_now(descriptor):
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))
