"""JSON from clients, read one way on every path (WebSocket frames and HTTP bodies).

Python's json module takes more than RFC 8259 and fails in a way callers miss:

- `NaN`, `Infinity`, `-Infinity`, and numbers such as `1e400` that become infinite, are
  not JSON: a browser's `JSON.parse` refuses a frame that holds one, so signaling, which
  passes payloads through, would hand the receiver a frame it cannot read.
- Its parser recurses once per nesting level, so 3 KB of `[` raises RecursionError, not
  ValueError: an `except ValueError` let it through, which dropped the socket without
  cleaning up, or answered HTTP 500.

Nesting is bounded before parsing (JSON_MAX_DEPTH): the limit is the same in every call
stack, so a value that is accepted can always be encoded again.
"""

import json
import math
import re

from django.conf import settings

# A JSON string (escapes included), whose brackets are text, not nesting. Bytes: UTF-8
# encodes no other character with an ASCII byte, and bytes.translate deletes in C.
STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
ONE_KIND = bytes.maketrans(b"{}", b"[]")  # depth does not care which kind; the parser checks that they match
NOT_A_BRACKET = bytes(set(range(256)) - set(b"[]{}"))


class InvalidJSON(ValueError):
    """The document is not JSON we take; `why` is a short reason fit for the client, or None."""

    def __init__(self, message, why=None):
        super().__init__(message)
        self.why = why


def loads(document, max_depth=None):
    """The value of a JSON document (text, or bytes in a UTF encoding); InvalidJSON if it is not one we take."""
    max_depth = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    if isinstance(document, bytes | bytearray):
        try:
            document = document.decode(json.detect_encoding(document), "surrogatepass")  # as json.loads does
        except UnicodeDecodeError as error:
            raise InvalidJSON(str(error)) from None
    elif not isinstance(document, str):
        raise InvalidJSON(f"a JSON document is text, not {type(document).__name__}")
    if nested_deeper_than(document, max_depth):
        raise too_deep(max_depth)
    try:
        return DECODER.decode(document)
    except InvalidJSON:
        raise
    except RecursionError:
        # Only when JSON_MAX_DEPTH is near Python's recursion limit, or brackets do not pair.
        raise too_deep(max_depth) from None
    except ValueError as error:
        raise InvalidJSON(str(error)) from None


def nested_deeper_than(text, max_depth):
    """Whether brackets outside strings nest deeper than `max_depth`, without recursing."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # every frame a client of ours sends
    brackets = STRING.sub(b"", text.encode("utf-8", "surrogatepass")).translate(ONE_KIND, NOT_A_BRACKET)
    if b"[" * (max_depth + 1) in brackets:
        return True  # the usual attack, `[[[[…`, found in one search
    # Each pass takes away the innermost level of containers; what is left after
    # `max_depth` passes is nested deeper. A pass costs a copy of what is left.
    for _ in range(max_depth):
        inner_removed = brackets.replace(b"[]", b"")
        if inner_removed == brackets:
            return False  # brackets that do not pair: not JSON, which the parser says
        brackets = inner_removed
    return bool(brackets)


def too_deep(max_depth):
    why = f"nested deeper than {max_depth} levels"
    return InvalidJSON(why, why)


def refuse_constant(name):
    why = f"{name} is not a JSON number"
    raise InvalidJSON(why, why)


def finite_float(text):
    number = float(text)
    if not math.isfinite(number):
        why = f"{text} is out of range for a JSON number"
        raise InvalidJSON(why, why)
    return number


# One decoder for every call: json.loads with hooks builds a new one each time, for every frame.
DECODER = json.JSONDecoder(parse_constant=refuse_constant, parse_float=finite_float)
