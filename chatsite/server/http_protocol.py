"""The HTTP protocol `manage.py uvicorn` serves with: uvicorn's httptools one, bounded for stalling clients.

uvicorn 0.54 bounds none of these: a connection that sends nothing, or a request head a
byte at a time, or 40 MB of header lines, stays open, and buffered, as long as the client
likes. Its `limit_concurrency` answers 503 only once a whole request head has come, so
connections that never finish one are never refused: 20,600 of them used every file
descriptor of the process, and `/healthz` failed until they went.

1. **A deadline for the request head** (`HTTP_HEADER_TIMEOUT`): a connection's first
   head must be complete that long after the connection opened, a later one (keep-alive)
   that long after its first byte. A connection that sent nothing is closed; one that
   sent part of a head is answered 408 and closed. A WebSocket handshake is a request
   head, so a half-sent one is cut the same way. The wait between requests is uvicorn's
   `timeout_keep_alive` (5 s).
2. **A deadline for the request body** (`HTTP_BODY_TIMEOUT`), from the end of its head:
   408 and closed (the application sees the client disconnect). The deadline is set only
   when a read ends with the head complete and the body not: most requests never need it.
3. **A cap on the head's size** (`HTTP_MAX_HEADER_BYTES`, request line and header
   lines): 431 and closed. An unfinished head is refused as soon as more than that has
   been read (give or take one read of a pipelined request), so no more is buffered.
4. **A cap on the process's open connections** (`HTTP_MAX_CONNECTIONS`, HTTP and
   WebSocket alike, from uvicorn's own set of them): past it a new connection is answered
   503 at once, before it sends anything, and closed.

It overrides uvicorn's parser callbacks and reads a few of its attributes (`connections`,
`cycle`, `flow`, `headers`, `url`, `server_state`; none private), so it is checked
against the uvicorn it was written for at start-up (chatsite/server/versions.py).
"""

import contextlib
import math
import resource
import weakref

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from chatsite.core.metrics import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    HEAD_TOO_LARGE,
    TOO_MANY_CONNECTIONS,
    http_connection_refused,
)

# Files a web process needs besides its connections: the database, Redis, logs, the listening socket.
RESERVED_FILES = 100


def connection_cap(wanted):
    """`wanted`, or less if the process may not open that many files.

    The open-file limit is first raised towards what the cap needs, up to its hard limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_FILES))


class HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops, and uvicorn calls `send_400_response`."""


class Deadlines:
    """The connections of one event loop that wait for a head or a body, and when each must be done.

    Checked on each whole second while any waits (the wake-up the server's tick and the
    keepalive pings share) instead of a timer armed and cancelled for every request, which
    on uvloop cost more than everything else here (bench/README.md, "What made it faster").
    A deadline is therefore met up to a second late.
    """

    def __init__(self, loop):
        self.loop = loop
        self.due = {}  # protocol → loop time
        self.checking = False

    def set(self, protocol, seconds):
        self.due[protocol] = self.loop.time() + seconds
        if not self.checking:
            self.checking = True
            self.loop.call_at(math.floor(self.loop.time()) + 1, self.check)

    def clear(self, protocol):
        self.due.pop(protocol, None)

    def check(self):
        now = self.loop.time()
        for protocol in [protocol for protocol, due in self.due.items() if due <= now]:
            del self.due[protocol]
            protocol.deadline_passed()
        self.checking = bool(self.due)
        if self.checking:
            self.loop.call_at(math.floor(now) + 1, self.check)


DEADLINES = weakref.WeakKeyDictionary()  # event loop → its Deadlines


class HTTPProtocol(HttpToolsProtocol):
    # Set by `bounded()`; these are the settings' defaults.
    header_timeout = 10.0
    body_timeout = 30.0
    max_header_bytes = 64 * 1024
    max_connections = 10000

    deadlines = None  # this loop's Deadlines, once the connection is taken
    in_head = True  # the next bytes read belong to a request head
    head_begun = False  # a byte of the current head has come
    later_request = False  # a request before this one was read whole
    body_due = False  # the body's deadline is set
    # Bytes of the reads since the head's first: at least the head's size if it began a read
    # (`head_counted`); a pipelined head begins inside one, and is measured in full instead.
    head_bytes = 0
    read_begins_head = True
    head_counted = True
    head_too_large = False

    @classmethod
    def bounded(cls, *, header_timeout, body_timeout, max_header_bytes, max_connections):
        """This protocol with its bounds: what uvicorn's `Config(http=...)` takes."""
        bounds = {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_header_bytes": max_header_bytes,
            "max_connections": max_connections,
        }
        return type(cls.__name__, (cls,), bounds)

    # --- connection ---------------------------------------------------------------

    def connection_made(self, transport):
        super().connection_made(transport)
        # uvicorn's set of the server's open connections, HTTP and WebSocket, this one included.
        if len(self.connections) > self.max_connections:
            http_connection_refused(TOO_MANY_CONNECTIONS)
            self.refuse(503, "Too many connections: try again later.")
            return
        if (deadlines := DEADLINES.get(self.loop)) is None:
            deadlines = DEADLINES[self.loop] = Deadlines(self.loop)
        self.deadlines = deadlines
        deadlines.set(self, self.header_timeout)  # the first head: from the connection's opening

    def connection_lost(self, exc):
        self.clear_deadline()
        super().connection_lost(exc)

    def data_received(self, data):
        self.read_begins_head = self.in_head
        if self.in_head:
            self.head_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self.in_head:
            if self.head_bytes > self.max_header_bytes:
                self.head_too_large = True
                self.send_400_response("")
        elif not self.body_due and self.transport.get_protocol() is self:  # not upgraded to a WebSocket
            self.body_due = True
            self.deadlines.set(self, self.body_timeout)

    def send_400_response(self, msg):
        # uvicorn's answer to a request httptools refused, HeadTooLarge among them.
        if not self.head_too_large:
            return super().send_400_response(msg)
        http_connection_refused(HEAD_TOO_LARGE)
        self.refuse(431, f"The request line and headers are over {self.max_header_bytes} bytes.")

    # --- parser callbacks ---------------------------------------------------------

    def on_message_begin(self):
        super().on_message_begin()
        self.head_begun = True
        self.head_counted = self.read_begins_head
        if self.later_request:  # timed from its first byte
            self.deadlines.set(self, self.header_timeout)

    def on_headers_complete(self):
        self.in_head = False
        self.clear_deadline()
        if not self.head_counted or self.head_bytes > self.max_header_bytes:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.max_header_bytes:
                self.head_too_large = True
                raise HeadTooLarge
        super().on_headers_complete()

    def on_message_complete(self):
        super().on_message_complete()
        self.clear_deadline()
        self.in_head, self.head_begun, self.later_request, self.body_due = True, False, True, False
        self.head_bytes, self.read_begins_head = 0, False  # the rest of this read may begin the next head

    # --- refusals -----------------------------------------------------------------

    def deadline_passed(self):
        if self.transport.is_closing():
            return
        if not self.in_head:
            http_connection_refused(BODY_TIMEOUT)
            self.refuse(408, f"The request body did not come within {self.body_timeout:g} s.", body=True)
        elif self.head_begun:
            http_connection_refused(HEAD_TIMEOUT)
            self.refuse(408, f"The request head did not come within {self.header_timeout:g} s.")
        else:
            http_connection_refused(HEAD_TIMEOUT)
            self.transport.close()  # nothing was asked: nothing to answer

    def clear_deadline(self):
        if self.deadlines is not None:
            self.deadlines.clear(self)

    def refuse(self, status, text, body=False):
        """Answer `status` and close the connection, whatever the client is still sending.

        `body`: refused for its body, not its head.
        """
        self.clear_deadline()
        if self.cycle is not None and not self.cycle.response_complete:
            if not body:
                # A pipelined head while earlier requests are answered: their answers go out,
                # the last ends the connection (as uvicorn's own shutdown does), and nothing
                # more is read meanwhile.
                self.cycle.keep_alive = False
                self.flow.pause_reading()
                return
            if self.cycle.response_started:  # the application answered without waiting for the body
                self.transport.close()
                return
        body = text.encode() + b"\n"
        head = [STATUS_LINE[status]]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
