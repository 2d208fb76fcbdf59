"""The side-by-side page and its JSON, and the admin listing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Replica
from contacts.protocol import ClientDelete, ClientUpdate, Update
from contacts.services import open_replica
from tests.contacts.batches import LEASE, LocalWrite, apply_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_replicas():
    one_model, one = open_replica("contact-server-1", LEASE)
    two_model, two = open_replica("contact-server-2", LEASE)
    apply_batch(
        one_model.id, one, [LocalWrite(b"ana", ClientUpdate(b"bob", b"1")), LocalWrite(b"ana", ClientDelete(b"x"))]
    )
    apply_batch(two_model.id, two, [Update(1, b"ana", b"bob", b"1"), Update(1, b"eve", b"zed", b"2")])


def test_the_json_shows_each_replicas_live_contacts_of_one_user(client, two_replicas):
    data = client.get("/contacts/views.json", {"user": "ana"}).json()
    stopped = {"alive": False, "alive_at": None}
    assert data == {
        "user": "ana",
        "replicas": {
            "contact-server-1": {"clock": 2, **stopped, "contacts": [{"contact": "bob", "phone": "1"}]},
            "contact-server-2": {"clock": 1, **stopped, "contacts": [{"contact": "bob", "phone": "1"}]},
        },
    }


def test_a_replica_is_alive_for_three_heartbeats_after_it_last_said_so(client, settings, two_replicas):
    settings.CONTACTS_HEARTBEAT_INTERVAL = 5.0
    now = timezone.now()
    Replica.objects.filter(name="contact-server-1").update(alive_at=now - timedelta(seconds=14))
    Replica.objects.filter(name="contact-server-2").update(alive_at=now - timedelta(seconds=16))
    replicas = client.get("/contacts/views.json", {"user": "ana"}).json()["replicas"]
    assert replicas["contact-server-1"]["alive"] is True
    assert replicas["contact-server-2"]["alive"] is False
    assert replicas["contact-server-2"]["alive_at"] == (now - timedelta(seconds=16)).isoformat(timespec="seconds")


def test_the_page_renders(client):
    response = client.get("/contacts/")
    assert response.status_code == 200
    assert b"/contacts/views.json" in response.content


def test_admin_lists_contacts_with_tombstones_marked(admin_client, two_replicas):
    response = admin_client.get("/admin/contacts/contact/")
    assert response.status_code == 200
    assert response.content.count(b'alt="False"') == 1  # the tombstone of "x"
    assert admin_client.get("/admin/contacts/replica/").status_code == 200
    assert Replica.objects.count() == 2
