"""Settings for a `manage.py uvicorn` that serves a probe instead of the project's application.

tests/chatsite/test_uvicorn_contract.py starts `manage.py uvicorn` with these settings: the
command, its server and its protocols as `make run` runs them, and an application that
says what the server offered it.
"""

from chatsite.core.websocket_frames import FRAMES_EXTENSION, encode_text_frames
from tests.settings import *  # noqa: F403

ASGI_APPLICATION = "tests.uvicorn_probe.probe"

SINK_TEXTS = ["first", "second, ü"]
AFTER_TEXT = "then websocket.send"
NO_EXTENSION = "the server offered no frames extension"


async def probe(scope, receive, send):
    """HTTP: 204. `/frames`: frames through the extension's sink, one `websocket.send`, a close. Else: idle."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    if scope["path"] == "/frames":
        extension = scope.get("extensions", {}).get(FRAMES_EXTENSION)
        if extension is None:
            await send({"type": "websocket.send", "text": NO_EXTENSION})
        else:
            extension["sink"].transport.write(encode_text_frames(SINK_TEXTS))
            await send({"type": "websocket.send", "text": AFTER_TEXT})
        await send({"type": "websocket.close"})
    while (await receive())["type"] != "websocket.disconnect":
        pass
