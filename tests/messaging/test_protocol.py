"""The wire formats are pure functions: any input gets a result or a ProtocolError, never a crash."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging import protocol

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
frames = (
    st.text(max_size=200)
    | json_values.map(json.dumps)
    | st.fixed_dictionaries(
        {"room": json_values, "text": json_values}, optional={"id": json_values, "ping": json_values}
    ).map(json.dumps)
)


@given(frames)
def test_any_nane_frame_decodes_or_names_its_fault(frame):
    try:
        result = protocol.decode_nane(frame, 10500)
    except protocol.ProtocolError as error:
        fault = json.loads(protocol.nane_error(error))
    else:
        fault = None
    if fault is not None:
        assert fault["error"]
    elif result is not protocol.PING:
        assert 1 <= len(result.room) <= 50
        assert result.room == result.room.strip()
        assert result.text.strip()


commands = st.fixed_dictionaries({"type": st.sampled_from(sorted(protocol.COMMANDS)), "args": json_values})


@given(frames | commands.map(json.dumps))
def test_any_token_frame_decodes_or_names_its_fault(frame):
    try:
        command = protocol.decode_command(frame)
    except protocol.ProtocolError as error:
        fault = str(error)
    else:
        fault = None
    if fault is not None:
        assert fault
        return
    assert all(isinstance(command.args[name], str) for name in protocol.COMMANDS[command.type])


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"query_string": b"username=a&token=T"}, protocol.Handshake(token="T", username="a")),
        ({"subprotocols": ["bearer", "T"]}, protocol.Handshake(token="T", subprotocol="bearer")),
        ({"subprotocols": ["Bearer T"]}, protocol.Handshake(token="T", subprotocol="Bearer T")),
        ({"headers": [(b"authorization", b"Bearer T")]}, protocol.Handshake(token="T")),
        ({"query_string": b"name=%D0%BA"}, protocol.Handshake(username="к")),
        ({"query_string": b""}, protocol.Handshake()),
    ],
)
def test_the_handshake_names_a_token_first_then_a_username(scope, expected):
    assert protocol.read_handshake(scope) == expected


@pytest.mark.parametrize(("microsecond", "fraction"), [(0, ".000000"), (5, ".000005"), (497860, ".497860")])
def test_created_always_has_six_fraction_digits(microsecond, fraction):
    created = datetime(2026, 11, 29, 21, 20, 49, microsecond, tzinfo=UTC)

    message = protocol.message_dict(room="r", seq=1, text="t", sender="alice", created=created)

    assert message["created"] == f"2026-11-29T21:20:49{fraction}+00:00"
