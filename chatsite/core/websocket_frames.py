"""WebSocket frames encoded once, and the ASGI extension through which a server takes them (pure, no I/O).

A server that offers `FRAMES_EXTENSION` puts `{"sink": connection}` under that name in a
WebSocket scope's `extensions` (`manage.py uvicorn` does: chatsite/server/websocket_protocol.py).
An application may then write bytes made by `encode_text_frames` to `sink.transport`
instead of sending `websocket.send` messages: one encoding for every receiver of a
broadcast. Where the extension is absent (daphne, Channels' test communicator) it sends
`websocket.send` as usual.
"""

from websockets.frames import Frame, Opcode

FRAMES_EXTENSION = "chatsite.websocket.frames"


def encode_text_frames(texts):
    """Server-to-client text frames (unmasked), back to back, as one bytes object."""
    return b"".join(Frame(Opcode.TEXT, text.encode()).serialize(mask=False) for text in texts)
