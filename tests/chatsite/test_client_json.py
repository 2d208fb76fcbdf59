"""JSON from clients (chatsite/core/client_json.py): RFC 8259 only, nesting bounded, one exception for every fault."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatsite.core import client_json


def nested(depth):
    """A document `depth` levels deep: arrays and objects in turn (written out: json.dumps recurses too)."""
    openers = ['{"k": ' if level % 2 else "[" for level in range(depth)]
    closers = ["}" if level % 2 else "]" for level in reversed(range(depth))]
    return "".join(openers) + "1" + "".join(closers)


def test_a_document_nested_to_the_limit_is_read():
    assert client_json.loads(nested(32), max_depth=32)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_a_document_nested_deeper_than_the_limit_is_refused_saying_so(depth):
    with pytest.raises(client_json.InvalidJSON) as refusal:
        client_json.loads(nested(depth), max_depth=32)
    assert refusal.value.why == "nested deeper than 32 levels"


@pytest.mark.parametrize("document", ["[" * 100_000, "{" * 100_000, '{"a":' * 100_000, "[" * 5000 + "}" * 5000])
def test_brackets_that_never_close_are_invalid_json_not_a_recursion_error(document):
    with pytest.raises(client_json.InvalidJSON):
        client_json.loads(document, max_depth=32)


def test_the_limit_is_the_setting(settings):
    settings.JSON_MAX_DEPTH = 3
    assert client_json.loads("[[[1]]]") == [[[1]]]
    with pytest.raises(client_json.InvalidJSON, match="nested deeper than 3 levels"):
        client_json.loads("[[[[1]]]]")


def test_brackets_inside_strings_are_text_not_nesting():
    text = '[{"a": "' + "[{" * 100 + '\\"]' + '"}, "' + "]}" * 50 + '"]'
    assert client_json.loads(text, max_depth=2) == [{"a": "[{" * 100 + '"]'}, "]}" * 50]


def test_many_shallow_containers_are_not_deep():
    document = json.dumps([[index] for index in range(5000)])
    assert len(client_json.loads(document, max_depth=2)) == 5000


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1E999"])
def test_numbers_that_json_does_not_have_are_refused(number):
    with pytest.raises(client_json.InvalidJSON) as refusal:
        client_json.loads(f'{{"payload": [{number}]}}')
    assert number in refusal.value.why


def test_finite_numbers_are_read_as_python_does():
    assert client_json.loads("[1.5, -0.0, 1e308, 12345678901234567890, 2E-5]") == [
        1.5,
        -0.0,
        1e308,
        12345678901234567890,
        2e-5,
    ]


@pytest.mark.parametrize("document", ["", "not json", "[1,]", '{"a" 1}', b"\xff\xfe\x00", "1" * 5000, b'{"a": "\xe9"}'])
def test_every_other_fault_is_invalid_json_too(document):
    with pytest.raises(client_json.InvalidJSON) as refusal:
        client_json.loads(document)
    assert refusal.value.why is None  # the parser's own message only: the callers keep their texts


def test_bytes_are_read_in_any_utf_encoding_as_json_loads_does():
    assert client_json.loads('{"name": "ж"}'.encode("utf-16")) == {"name": "ж"}
    assert client_json.loads('{"name": "ж"}'.encode()) == {"name": "ж"}


def depth(value):
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ ab', max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text('[]{}"\\', max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


@given(value=JSON_VALUES, max_depth=st.integers(1, 8))
def test_a_document_is_read_exactly_when_its_depth_is_within_the_limit(value, max_depth):
    document = json.dumps(value)
    if depth(value) <= max_depth:
        assert client_json.loads(document, max_depth=max_depth) == value
    else:
        with pytest.raises(client_json.InvalidJSON, match="nested deeper"):
            client_json.loads(document, max_depth=max_depth)
