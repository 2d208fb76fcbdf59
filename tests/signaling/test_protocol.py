"""The pure wire format: frame parsing, usernames, frame sizes, the rate limit."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatsite.core.limits import TokenBucket, frame_too_big
from signaling.protocol import (
    SERVER_TYPES,
    ClientError,
    Signal,
    clean_username,
    parse_signal,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(st.text(min_size=1), st.text(min_size=1).filter(lambda t: t not in SERVER_TYPES), json_values)
def test_any_json_payload_survives_forwarding_unchanged(target, kind, payload):
    text = json.dumps({"target": target, "type": kind, "payload": payload})

    forwarded = json.loads(parse_signal(text).forwarded_from("alice"))

    assert forwarded == {"target": target, "type": kind, "originator": "alice", "payload": payload}


def outcome(text):
    """What parsing gives: a Signal, or the ClientError the client will be shown."""
    try:
        return parse_signal(text)
    except ClientError as error:
        return error


@given(st.text())
def test_any_text_either_parses_or_raises_a_client_error_with_a_reason(text):
    result = outcome(text)
    assert isinstance(result, Signal) or (isinstance(result, ClientError) and str(result))


@given(json_values)
def test_any_json_value_either_parses_or_raises_a_client_error_with_a_reason(value):
    result = outcome(json.dumps(value))
    assert isinstance(result, Signal) or (isinstance(result, ClientError) and str(result))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 3000,
        '{"target": "bob", "type": "offer", "payload": ' + "[" * 3000 + "]" * 3000 + "}",
        '{"target": "bob", "type": "offer", "payload": NaN}',
        '{"target": "bob", "type": "offer", "payload": {"x": [Infinity]}}',
        '{"target": "bob", "type": "offer", "payload": -Infinity}',
        '{"target": "bob", "type": "offer", "payload": 1e400}',
    ],
)
def test_json_that_a_browser_cannot_read_or_python_cannot_parse_is_refused(text):
    with pytest.raises(ClientError, match=r"^frame is not valid JSON: .+"):
        parse_signal(text)


def test_a_missing_payload_parses_as_none():
    assert parse_signal('{"target": "bob", "type": "bye"}') == Signal("bob", "bye", None)


@pytest.mark.parametrize(
    ("raw", "clean"), [("alice", "alice"), ("  bob\t", "bob"), ("a.b-c_d", "a.b-c_d"), ("Ωmega9", "Ωmega9")]
)
def test_valid_usernames_are_trimmed(raw, clean):
    assert clean_username(raw) == clean


@pytest.mark.parametrize("raw", ["", " ", "x" * 51, "a b", "a@b", "a\nb", "😀", 1, None])
def test_invalid_usernames_raise_client_error(raw):
    with pytest.raises(ClientError):
        clean_username(raw)


def test_frame_size_counts_utf8_bytes():
    assert not frame_too_big("x" * 10, None, 10)
    assert frame_too_big("x" * 11, None, 10)
    assert frame_too_big("Ω" * 6, None, 10)  # 12 bytes
    assert not frame_too_big("Ω" * 5, None, 10)
    assert frame_too_big(None, b"x" * 11, 10)
    assert not frame_too_big(None, b"x" * 10, 10)


class FakeTime:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_token_bucket_allows_a_burst_then_refills_at_the_rate():
    time = FakeTime()
    bucket = TokenBucket(rate=4, burst=3, clock=time)

    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    time.now += 0.25  # one token back
    assert [bucket.take() for _ in range(2)] == [True, False]
    time.now += 100  # refills to the burst, not beyond
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
