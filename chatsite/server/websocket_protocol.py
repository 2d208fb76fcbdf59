"""The WebSocket protocol `manage.py uvicorn` serves with: uvicorn's sans-I/O one, plus three things.

1. **Pre-encoded frames** (ASGI extension `FRAMES_EXTENSION`). A chat broadcast is the
   same bytes for every receiver, yet an ASGI `websocket.send` costs, per receiver, a
   message dict, a coroutine and a frame encoded again. The extension hands the
   application this connection as a *sink*: frames it encoded once
   (`chatsite.core.websocket_frames.encode_text_frames`) go straight to `sink.transport`, while the transport is not
   closing, and never after the application has sent its own close. Where the extension
   is absent (daphne under runserver, Channels' test communicator) applications use
   `websocket.send` as usual.
2. **A bounded send buffer.** A client that stops reading would make the server buffer
   every broadcast for it without end. Past `WS_MAX_SEND_BUFFER_BYTES` waiting in this
   process (beyond what the kernel's socket buffer holds), the connection is closed
   with 1008: first the application's `overflow_text` (its cause frame, if it set one),
   then the close frame; the TCP connection is dropped if the client still reads
   nothing. The application sees `websocket.disconnect` with code 1008.
3. **Keepalive pings in step.** uvicorn pings each connection `ws_ping_interval` after
   its own last ping, so 1,000 connections wake the process 50 times a second at 20 s,
   and a wake-up from idle costs far more than the ping it sends (bench/README.md,
   "What changed, and why").
   Pings due within the same whole second of the loop's clock go out together, in the
   same wake-up as the server's once-a-second tick (chatsite/server/uvicorn_server.py).

It reads and writes uvicorn's protocol state (`conn`, `queue`, `close_sent`,
`close_timer`, `transport`, the ping fields): `manage.py uvicorn` refuses any uvicorn but
the one it was checked against (chatsite/server/versions.py), tests/chatsite/test_websocket_protocol.py
names each attribute, so an upgrade shows what moved, and tests/chatsite/test_uvicorn_contract.py
checks each of the three against a real `manage.py uvicorn`.
"""

import logging
import math

from django.conf import settings
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from chatsite.core import metrics
from chatsite.core.websocket_frames import FRAMES_EXTENSION, encode_text_frames

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
SLOW_CLIENT_REASON = "slow client: send buffer full"


class WebSocketProtocol(WebSocketsSansIOProtocol):
    # Closed for a full send buffer since the process started (all connections).
    slow_clients_closed = 0

    overflow_text = None  # set by the application: the frame that tells a slow client why it is closed
    overflowed = False
    ping_due = None  # the whole second the next keepalive ping is due

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=settings.WS_MAX_SEND_BUFFER_BYTES)

    def handle_connect(self, event):
        super().handle_connect(event)
        # The application task was created above but has not run yet: it sees the extension.
        if not self.close_sent:
            self.scope["extensions"][FRAMES_EXTENSION] = {"sink": self}

    def schedule_ping(self):
        # Counted from when the last ping was due, not from its pong (uvicorn's `now - rtt`):
        # the ping leaves a little after its whole second, and that jitter, rounded up, used
        # to push one socket's next ping a second past the others'.
        now = self.loop.time()
        due = now if self.ping_due is None else self.ping_due
        self.ping_due = math.ceil(max(due + self.ping_interval, now))
        self.ping_timer = self.loop.call_at(self.ping_due, self.send_keepalive_ping)

    def pause_writing(self):
        super().pause_writing()
        if self.handshake_complete and not self.close_sent and not self.overflowed:
            self.overflowed = True
            # Called from inside a transport write: close on the next loop pass.
            self.loop.call_soon(self.close_slow_client)

    def close_slow_client(self):
        if self.close_sent or self.transport.is_closing():
            return
        type(self).slow_clients_closed += 1
        metrics.websocket_closed(metrics.SLOW_CLIENT)
        log.warning(
            "Closed a slow WebSocket client %s (%d bytes unsent; %d so far)",
            self.client,
            self.transport.get_write_buffer_size(),
            type(self).slow_clients_closed,
        )
        if self.overflow_text is not None:
            self.transport.write(encode_text_frames([self.overflow_text]))
        self.conn.send_close(POLICY_VIOLATION, SLOW_CLIENT_REASON)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": POLICY_VIOLATION})
        # close() would wait for the buffer to drain, which a client that reads nothing never lets happen.
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
