"""Forwarding `{target, type, payload}` between connected users, and bad frames."""

import json

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"}


@pytest.fixture
async def alice_and_bob(online):
    return await online("alice"), await online("bob")


@pytest.mark.parametrize(
    "payload",
    [OFFER, "a string", 42, 1.5, None, True, [1, "two", {"three": 3}], {"nested": {"deep": [None, "Ω"]}}],
)
async def test_target_receives_the_frame_with_the_originator_and_the_payload_unchanged(alice_and_bob, payload):
    alice, bob = alice_and_bob

    await alice.send({"target": "bob", "type": "offer", "payload": payload})

    assert await bob.receive() == {"target": "bob", "type": "offer", "originator": "alice", "payload": payload}
    await alice.assert_nothing_came_before_a_marker()


async def test_a_missing_payload_is_forwarded_as_null(alice_and_bob):
    alice, bob = alice_and_bob

    await alice.send({"target": "bob", "type": "hangup"})

    assert await bob.receive() == {"target": "bob", "type": "hangup", "originator": "alice", "payload": None}


async def test_unknown_keys_are_not_forwarded(alice_and_bob):
    alice, bob = alice_and_bob

    await alice.send({"target": "bob", "type": "hi", "payload": 1, "originator": "mallory", "extra": True})

    assert await bob.receive() == {"target": "bob", "type": "hi", "originator": "alice", "payload": 1}


async def test_the_target_is_found_in_any_letter_case(alice_and_bob):
    alice, bob = alice_and_bob

    await alice.send({"target": "BOB", "type": "offer", "payload": 1})

    assert (await bob.receive())["originator"] == "alice"


async def test_a_user_may_target_itself(alice_and_bob):
    alice, _ = alice_and_bob

    await alice.send({"target": "alice", "type": "note", "payload": "to self"})

    assert await alice.receive() == {"target": "alice", "type": "note", "originator": "alice", "payload": "to self"}


@pytest.mark.parametrize("target", ["carol", "nobody-at-all", "ali\x00ce"])  # PostgreSQL refuses NUL in a query
async def test_a_target_not_connected_answers_target_not_found(online, sockets, target):
    from tests.signaling.conftest import register_user

    await register_user("carol")  # registered but not connected
    alice = await online("alice")

    await alice.send({"target": target, "type": "offer", "payload": OFFER})

    assert await alice.receive() == {"target": target, "type": "TARGET_NOT_FOUND", "payload": None}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        " ",
        "[1, 2]",
        '"bob"',
        "null",
        json.dumps({"type": "offer", "payload": 1}),
        json.dumps({"target": 7, "type": "offer"}),
        json.dumps({"target": None, "type": "offer"}),
        json.dumps({"target": "", "type": "offer"}),
        json.dumps({"target": "bob"}),
        json.dumps({"target": "bob", "type": 3}),
        json.dumps({"target": "bob", "type": "KICKED"}),
        json.dumps({"target": "bob", "type": "TARGET_NOT_FOUND"}),
        '{"target": "bob\\ud800", "type": "offer"}',  # half a surrogate pair: no UTF-8 for it
        '{"target": "bob", "type": "offer", "payload": "\\udfff"}',
    ],
)
async def test_a_bad_frame_answers_error_and_keeps_the_connection(alice_and_bob, frame):
    alice, bob = alice_and_bob

    await alice.send(frame)

    error = await alice.receive()
    assert error["type"] == "ERROR"
    assert isinstance(error["payload"], str)
    assert error["payload"]
    assert set(error) == {"type", "payload"}
    # The marker: alice's consumer handles her frames in order, so had the bad frame been
    # forwarded, bob would get it before this one.
    await alice.send({"target": "bob", "type": "offer", "payload": "still here"})
    assert (await bob.receive())["payload"] == "still here"


async def test_a_binary_frame_answers_error(alice_and_bob):
    alice, _ = alice_and_bob

    await alice.communicator.send_to(bytes_data=b'{"target": "bob"}')

    assert (await alice.receive())["type"] == "ERROR"


async def test_a_frame_over_the_size_limit_closes_with_1009(alice_and_bob, settings):
    settings.WS_MAX_FRAME_BYTES = 1000
    alice, bob = alice_and_bob

    await alice.send({"target": "bob", "type": "offer", "payload": "Ω" * 500})  # 1000+ bytes in UTF-8

    assert await alice.closed_with() == 1009
    await alice.close()  # its consumer has stopped: anything it would forward has gone
    await bob.assert_nothing_came_before_a_marker()


async def test_a_frame_at_the_size_limit_is_forwarded(alice_and_bob, settings):
    settings.WS_MAX_FRAME_BYTES = 1000
    alice, bob = alice_and_bob
    empty = json.dumps({"target": "bob", "type": "offer", "payload": ""})
    padding = "x" * (1000 - len(empty))
    frame = empty.replace('""', f'"{padding}"')
    assert len(frame.encode()) == 1000

    await alice.send(frame)

    assert (await bob.receive())["payload"] == padding


async def test_frames_over_the_rate_limit_answer_error_and_are_not_forwarded(online, settings):
    settings.WS_RATE_PER_SECOND = 0.001  # no refill during the test
    settings.WS_RATE_BURST = 3
    alice, bob = await online("alice"), await online("bob")

    for number in range(4):
        await alice.send({"target": "bob", "type": "n", "payload": number})

    assert [(await bob.receive())["payload"] for _ in range(3)] == [0, 1, 2]
    error = await alice.receive()
    assert error["type"] == "ERROR"
    assert error["payload"] == "too many messages: at most 0.001 per second"
    await alice.close()  # its consumer has stopped: anything it would forward has gone
    await bob.assert_nothing_came_before_a_marker()
