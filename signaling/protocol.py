"""The `/v1/connect` wire format and the username rule: pure code, no I/O."""

import json
import re
from dataclasses import dataclass
from typing import Any

from chatsite.core import client_json
from chatsite.core.names import MAX_NAME_LENGTH, name_problem

# \w is Unicode-aware: letters and digits of any script, and "_".
USERNAME_PATTERN = re.compile(r"[\w.-]+")

# Frames only the server sends; a client may not forward them, so none can be faked.
SERVER_TYPES = frozenset({"ERROR", "TARGET_NOT_FOUND", "KICKED", "UNAUTHENTICATED", "ALREADY_EXISTS"})


class ClientError(Exception):
    """A frame or field the client got wrong; `str(error)` is the text to show it."""


def clean_username(value: object) -> str:
    """The trimmed username, or ClientError saying what is wrong with it."""
    if not isinstance(value, str):
        raise ClientError("username must be a string")
    username = value.strip()
    if not username:
        raise ClientError("username must not be empty")
    if len(username) > MAX_NAME_LENGTH:
        raise ClientError(f"username must be at most {MAX_NAME_LENGTH} characters")
    if not USERNAME_PATTERN.fullmatch(username):
        raise ClientError("username may only contain letters, digits, '_', '-' and '.'")
    # Letters that draw nothing (a Hangul filler) match \w, and keys of some names outgrow their column.
    problem = name_problem(username, field="username")
    if problem:
        raise ClientError(problem)
    return username


@dataclass(frozen=True)
class Signal:
    """A client's frame: forward `type` and `payload` to `target`."""

    target: str
    type: str
    payload: Any = None

    def forwarded_from(self, originator: str) -> str:
        """The frame the target receives, encoded once."""
        return encode({"target": self.target, "type": self.type, "originator": originator, "payload": self.payload})


def parse_signal(text: str) -> Signal:
    """Decode a client frame into a Signal, or raise ClientError saying why not."""
    try:
        frame = client_json.loads(text)
    except client_json.InvalidJSON as error:
        # NaN or Infinity forwarded would reach a browser whose JSON.parse refuses the frame.
        raise ClientError(f"frame is not valid JSON: {error.why}" if error.why else "frame is not valid JSON")
    if not isinstance(frame, dict):
        raise ClientError("frame must be a JSON object with target, type and payload")
    target, kind = frame.get("target"), frame.get("type")
    if not isinstance(target, str) or not target:
        raise ClientError("target must be a non-empty string")
    if not isinstance(kind, str) or not kind:
        raise ClientError("type must be a non-empty string")
    if kind in SERVER_TYPES:
        raise ClientError(f"type {kind} is reserved for the server")
    if "\\u" in text and not _encodable(frame):
        # A JSON escape like "\ud800" decodes to half a surrogate pair, which neither the
        # database nor the target's socket can encode: refused here, not crashing there.
        raise ClientError("frame must be valid Unicode (no lone surrogates)")
    return Signal(target=target, type=kind, payload=frame.get("payload"))


def _encodable(frame: object) -> bool:
    try:
        encode(frame).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode(frame: object) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def error_frame(why: str) -> str:
    return encode({"type": "ERROR", "payload": why})


def target_not_found_frame(target: str) -> str:
    return encode({"target": target, "type": "TARGET_NOT_FOUND", "payload": None})


def cause_frame(cause: str) -> str:
    """The frame naming why the server will close; the close reason names it again (docs/protocols/signaling.md)."""
    return encode({"type": cause, "payload": None})
