"""History is capped per room and served oldest first (docs/protocols/chat.md)."""

import pytest
from django.db import connection

from messaging import services
from messaging.models import Message
from tests.support import sql_statements


@pytest.fixture
def cap(settings):
    settings.CHAT_MAX_MESSAGES_IN_ROOM = 3
    return 3


@pytest.mark.django_db
def test_a_room_keeps_only_its_newest_messages_oldest_first(cap):
    for n in range(5):
        services.post_message(room_name="Room", sender="alice", text=f"m{n}")
    history = services.history(services.find_room("room"))
    assert [m["text"] for m in history] == ["m2", "m3", "m4"]
    assert Message.objects.count() == 3


@pytest.mark.django_db
def test_the_cap_of_one_room_leaves_other_rooms_alone(cap):
    services.post_message(room_name="quiet", sender="alice", text="kept")
    for n in range(5):
        services.post_message(room_name="busy", sender="alice", text=f"m{n}")
    assert [m["text"] for m in services.history(services.find_room("quiet"))] == ["kept"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts statements with SQLite's trace callback")
@pytest.mark.django_db
def test_storing_a_message_costs_the_same_statements_however_long_the_history(cap):
    services.post_message(room_name="r", sender="alice", text="first")
    with sql_statements() as few:
        services.post_message(room_name="r", sender="alice", text="second")
    for n in range(20):
        services.post_message(room_name="r", sender="alice", text=f"m{n}")
    with sql_statements() as many:
        services.post_message(room_name="r", sender="alice", text="last")
    assert len(many) == len(few) == 3  # take the number, insert, trim
    deletes = [sql for sql in many if sql.startswith("DELETE")]
    assert len(deletes) == 1
    assert "seq" in deletes[0]


@pytest.mark.django_db
def test_the_client_id_is_kept_in_history():
    services.post_message(room_name="r", sender="alice", text="t", client_id="c-9")
    services.post_message(room_name="r", sender="alice", text="u", client_id="")
    history = services.history(services.find_room("r"))
    assert [m.get("id") for m in history] == ["c-9", ""]
