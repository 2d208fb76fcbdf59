"""The chat in the Django admin: rooms with message counts, searchable messages, sessions."""

import pytest

from messaging import services


@pytest.fixture
def staff(admin_client):
    services.post_message(room_name="Busy", sender="alice", text="needle in a haystack")
    services.post_message(room_name="Busy", sender="bob", text="hay")
    services.post_message(room_name="Quiet", sender="carol", text="hush")
    services.issue_token("dave")
    return admin_client


@pytest.mark.django_db
def test_rooms_are_listed_with_their_message_counts(staff):
    page = staff.get("/admin/messaging/room/").content.decode()
    assert ">2</a>" in page
    assert ">1</a>" in page


@pytest.mark.django_db
def test_messages_are_searchable_by_text(staff):
    page = staff.get("/admin/messaging/message/?q=needle").content.decode()
    assert "needle in a haystack" in page
    assert "hush" not in page


@pytest.mark.django_db
def test_token_sessions_are_listed(staff):
    assert "dave" in staff.get("/admin/messaging/chatsession/").content.decode()
