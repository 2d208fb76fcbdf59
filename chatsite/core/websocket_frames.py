"""WebSocket frames encoded once, and the ASGI extension through which a server takes them (pure, no I/O).

A server that offers `FRAMES_EXTENSION` puts `{"sink": connection}` under that name in a
WebSocket scope's `extensions` (`manage.py uvicorn` does: chatsite/server/websocket_protocol.py).
An application may then write bytes made by `encode_text_frames` to `sink.transport`
instead of sending `websocket.send` messages: one encoding for every receiver of a
broadcast. Where the extension is absent (daphne, Channels' test communicator) it sends
`websocket.send` as usual.
"""

FRAMES_EXTENSION = "chatsite.websocket.frames"

FIN_TEXT = 0x81  # one whole frame (FIN), opcode 1 (text): RFC 6455, section 5.2


def encode_text_frames(texts):
    """Server-to-client text frames (unmasked), back to back, as one bytes object.

    The bytes websockets' `Frame.serialize(mask=False)` makes, written out here: at 30
    messages a second each message runs with cold caches, and there the general
    serializer cost twice these few lines per broadcast (bench/README.md, "cold start").
    """
    parts = []
    for text in texts:
        payload = text.encode()
        size = len(payload)
        if size < 126:
            parts.append(bytes((FIN_TEXT, size)))
        elif size < 1 << 16:
            parts.append(bytes((FIN_TEXT, 126)) + size.to_bytes(2, "big"))
        else:
            parts.append(bytes((FIN_TEXT, 127)) + size.to_bytes(8, "big"))
        parts.append(payload)
    return b"".join(parts)  # one copy of the payloads, however many and large
