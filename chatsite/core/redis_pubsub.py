"""Redis publish and subscribe at the cost of a socket write: how web processes share chat broadcasts.

channels-redis's pub/sub layer reads through redis-py's asyncio `PubSub`: per message a
dozen coroutine frames, a retry wrapper and a timeout, two task hand-offs, and a wake-up
every 0.1 s while idle. With two workers that was more of the chat's CPU per message
than the rest of its path (bench/README.md, "What changed, and why"). Here a link is an
asyncio protocol on one connection: a publication is one `transport.write`, not awaited
(the replies are read, and an error reply logged, as they come), and a message reaches
its callback from `data_received`. hiredis, the parser redis-py itself uses when
installed, reads the replies; `command()` writes the requests.

Pub/sub channels do not belong to a database, so the URL's database number is ignored,
as Redis ignores it for PUBLISH and SUBSCRIBE.
"""

import asyncio
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import hiredis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url):
        """`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"a Redis URL starts redis:// or rediss://, not {parts.scheme or 'nothing'}://")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "rediss",
        )

    def hello(self):
        """The commands a new connection sends first: AUTH when the URL has a password."""
        if self.password is None:
            return b""
        return command("AUTH", self.username, self.password) if self.username else command("AUTH", self.password)


def command(*parts):
    """One request in RESP: an array of bulk strings."""
    encoded = [part if isinstance(part, bytes) else str(part).encode() for part in parts]
    return b"".join([b"*%d\r\n" % len(encoded), *(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)])


class Link(asyncio.Protocol):
    """One connection: sends `hello` and `first`, and `ready` resolves with the reply to `first`."""

    def __init__(self, hello, first):
        self.greeting = hello + first
        self.pending_hello = bool(hello)
        self.reader = hiredis.Reader()
        self.transport = None
        loop = asyncio.get_running_loop()
        self.ready, self.closed = loop.create_future(), loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.greeting)

    def data_received(self, data):
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                self.received(reply)
        except hiredis.ProtocolError as error:
            log.error("redis: unreadable reply (%s); closing the connection", error)
            self.transport.close()

    def received(self, reply):
        if isinstance(reply, hiredis.ReplyError):
            self.refused(reply)
        elif self.pending_hello:
            self.pending_hello = False
        elif not self.ready.done():
            self.ready.set_result(reply)
        else:
            self.reply(reply)

    def refused(self, error):
        if not self.ready.done():  # AUTH or the first command refused: the link is no good
            self.ready.set_exception(ConnectionRefusedError(f"Redis refused the connection: {error}"))
            self.transport.close()
        else:
            log.warning("redis: a command was refused: %s", error)

    def reply(self, reply):
        pass

    def connection_lost(self, exc):
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"Redis closed the connection: {exc or 'end of stream'}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self):
        if self.transport is not None:
            self.transport.close()


class Publisher(Link):
    """Publishes without waiting; not `writable` once closing, or while the send buffer is over its bound."""

    def __init__(self, address, buffer_bytes):
        super().__init__(address.hello(), command("PING"))
        self.buffer_bytes, self.paused = buffer_bytes, False

    def connection_made(self, transport):
        transport.set_write_buffer_limits(high=self.buffer_bytes)
        super().connection_made(transport)

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False

    @property
    def writable(self):
        return not self.paused and not self.transport.is_closing()

    def publish(self, channel, data):
        self.transport.write(command("PUBLISH", channel, data))


class Subscriber(Link):
    """Subscribed to one channel; each message's data goes to `on_message`, in the order Redis sent them."""

    def __init__(self, address, channel, on_message):
        super().__init__(address.hello(), command("SUBSCRIBE", channel))
        self.on_message = on_message

    def reply(self, reply):
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            self.on_message(reply[2])


async def open_link(address, link, timeout):
    """Connect `link` (a Link) to `address`; it, once Redis answered its first command."""
    loop = asyncio.get_running_loop()
    context = ssl.create_default_context() if address.tls else None
    async with asyncio.timeout(timeout):
        await loop.create_connection(lambda: link, address.host, address.port, ssl=context)
        try:
            await link.ready
        except BaseException:
            link.close()
            raise
    return link
