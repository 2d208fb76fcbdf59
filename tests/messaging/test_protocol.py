"""The wire formats are pure functions: any input gets a result or a ProtocolError, never a crash."""

import json
import re
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
    | st.integers(0, 3000).map(lambda depth: "[" * depth + "]" * depth)
    | json_values.map(json.dumps)
    | st.fixed_dictionaries(
        {"room": json_values, "text": json_values}, optional={"id": json_values, "ping": json_values}
    ).map(json.dumps)
)


def decoded_or_fault(frame):
    """(the decoded nane frame, None), or (None, the error frame's JSON) when it is refused."""
    try:
        return protocol.decode_nane(frame, 10500), None
    except protocol.ProtocolError as error:
        return None, json.loads(protocol.nane_error(error))


@given(frames)
def test_any_nane_frame_decodes_or_names_its_fault(frame):
    result, fault = decoded_or_fault(frame)
    if fault is not None:
        assert fault["error"]
    elif result is not protocol.PING:
        assert 1 <= len(result.room) <= 50
        assert result.room == result.room.strip()
        assert result.text.strip()


# Python's json module reads them (or raises RecursionError); none is JSON.
NOT_JSON = {
    "3 KB of [": "[" * 3000,
    "nested 3000 deep": "[" * 3000 + "]" * 3000,
    "33 objects deep": '{"a":' * 33 + "1" + "}" * 33,
    "NaN": '{"room": "r", "text": "t", "x": NaN}',
    "-Infinity": '{"type": "listusers", "room": "r", "text": "t", "args": [-Infinity]}',
    "1e400": '{"type": "listusers", "room": "r", "text": "t", "x": 1e400}',
}


@pytest.mark.parametrize("frame", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_json_that_python_reads_but_json_does_not_have_is_a_bad_nane_frame(frame):
    with pytest.raises(protocol.ProtocolError, match=r"^message is not valid JSON: .+"):
        protocol.decode_nane(frame, 10500)


@pytest.mark.parametrize("frame", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_json_that_python_reads_but_json_does_not_have_is_a_bad_command(frame):
    with pytest.raises(protocol.ProtocolError, match=r"^error parsing your message$"):
        protocol.decode_command(frame)


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


recover_frames = st.fixed_dictionaries(
    {
        "recover": json_values
        | st.fixed_dictionaries(
            {}, optional={"room": json_values | st.text(max_size=60), "since": st.integers() | json_values}
        )
    },
    optional={"id": json_values, "room": json_values, "text": json_values},
).map(json.dumps)


@given(recover_frames)
def test_any_recover_frame_decodes_or_names_its_fault(frame):
    result, fault = decoded_or_fault(frame)
    if fault is not None:
        assert fault["error"]
        return
    assert isinstance(result, protocol.Recover)
    assert type(result.since) is int
    assert 0 <= result.since <= protocol.MAX_SEQ
    assert 1 <= len(result.room) <= 50
    assert result.room == result.room.strip()
    assert result.has_id == ("id" in json.loads(frame))


@given(
    room=st.text(min_size=1, max_size=50).filter(lambda name: name.strip() and "\x00" not in name),
    since=st.integers(0, protocol.MAX_SEQ),
    client_id=st.none() | st.text(max_size=20).filter(lambda value: "\x00" not in value),
)
def test_a_good_recover_frame_decodes_to_what_it_says(room, since, client_id):
    frame = {"recover": {"room": room, "since": since}}
    if client_id is not None:
        frame["id"] = client_id
    result = protocol.decode_nane(json.dumps(frame), 10500)
    assert result == protocol.Recover(room.strip(), since, client_id, client_id is not None)


@pytest.mark.parametrize("since", [-1, 2**63, 1.0, True, None, "1", [1]])
def test_a_since_that_is_not_a_message_number_is_refused_by_name(since):
    with pytest.raises(protocol.ProtocolError, match=r"^since must be an integer from 0 to 9223372036854775807$"):
        protocol.decode_nane(json.dumps({"recover": {"room": "r", "since": since}}), 10500)


@pytest.mark.parametrize(
    ("before", "limit", "page"),
    [(None, None, (None, None)), ("1", "1", (1, 1)), ("9223372036854775807", "1024", (2**63 - 1, 1024))],
)
def test_history_paging_takes_whole_numbers_in_range(before, limit, page):
    assert protocol.history_page(before, limit, 1024) == page


@pytest.mark.parametrize(
    ("before", "limit", "fault"),
    [
        ("0", None, "before must be an integer from 1 to 9223372036854775807"),
        ("-1", None, "before must be an integer from 1 to 9223372036854775807"),
        ("9223372036854775808", None, "before must be an integer from 1 to 9223372036854775807"),
        ("", None, "before must be an integer from 1 to 9223372036854775807"),
        ("1_0", None, "before must be an integer from 1 to 9223372036854775807"),
        (None, "0", "limit must be an integer from 1 to 1024"),
        (None, "1025", "limit must be an integer from 1 to 1024"),
        (None, " 5", "limit must be an integer from 1 to 1024"),
        (None, "5.0", "limit must be an integer from 1 to 1024"),
        (None, "٣", "limit must be an integer from 1 to 1024"),
    ],
)
def test_history_paging_names_a_bad_value(before, limit, fault):
    with pytest.raises(protocol.ProtocolError, match=f"^{re.escape(fault)}$"):
        protocol.history_page(before, limit, 1024)
