"""The floor the chat's CPU per delivery is measured against: a nane fan-out and nothing else.

    python -m bench.limit_probe PORT

It upgrades `GET /ws?username=NAME` without checking anything, and for every text frame
`{"room", "text", "id"?}` it encodes one nane message frame and writes those same bytes
to every open socket (uvloop). No database, no validation, no ASGI, no limits: not a
server to use, only the lower bound that `make bench` runs side by side with the web
process, under the same load client and pinning.
"""

import asyncio
import base64
import datetime
import hashlib
import json
import sys
from urllib.parse import parse_qs, urlsplit

import uvloop

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
SOCKETS = set()


def frame(payload):
    """One unmasked text frame."""
    size = len(payload)
    if size < 126:
        header = bytes([0x81, size])
    elif size < 1 << 16:
        header = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return header + payload


class Socket(asyncio.Protocol):
    """One connection: the upgrade, then masked client frames."""

    def connection_made(self, transport):
        self.transport, self.buffer, self.username = transport, bytearray(), None

    def connection_lost(self, exc):
        SOCKETS.discard(self)

    def data_received(self, data):
        self.buffer += data
        if self.username is None and not self.upgrade():
            return
        while (payload := self.next_text()) is not None:
            self.broadcast(json.loads(payload))

    def upgrade(self):
        head, found, _ = self.buffer.partition(b"\r\n\r\n")
        if not found:
            return False
        del self.buffer[: len(head) + 4]
        request_line, *header_lines = head.decode("latin1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines if ": " in line)
        query = parse_qs(urlsplit(request_line.split(" ")[1]).query)
        self.username = query.get("username", ["anonymous"])[0]
        key = headers["sec-websocket-key"].strip().encode()
        accept = base64.b64encode(hashlib.sha1(key + ACCEPT_GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        SOCKETS.add(self)
        return True

    def next_text(self):
        """The next whole text frame's payload, unmasked; None until one has arrived."""
        while len(self.buffer) >= 2:
            opcode, size, at = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if size >= 126:
                width = 2 if size == 126 else 8
                if len(self.buffer) < 2 + width:
                    return None
                size, at = int.from_bytes(self.buffer[2 : 2 + width], "big"), 2 + width
            if len(self.buffer) < at + 4 + size:
                return None
            mask = self.buffer[at : at + 4]
            payload = bytes(b ^ mask[i & 3] for i, b in enumerate(self.buffer[at + 4 : at + 4 + size]))
            del self.buffer[: at + 4 + size]
            if opcode == 0x8:
                self.transport.close()
                return None
            if opcode == 0x1:
                return payload
        return None

    def broadcast(self, message):
        out = {"room": message["room"], "text": message["text"], "sender": {"username": self.username}}
        out["created"] = datetime.datetime.now(datetime.UTC).isoformat()
        if "id" in message:
            out["id"] = message["id"]
        data = frame(json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode())
        for socket in SOCKETS:
            socket.transport.write(data)


async def serve(port):
    server = await asyncio.get_running_loop().create_server(Socket, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
