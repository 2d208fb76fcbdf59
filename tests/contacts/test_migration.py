"""Contacts stored as text before names became bytes are kept, as their UTF-8 bytes."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from contacts.protocol import Update
from contacts.services import list_contacts, open_replica
from tests.contacts.batches import LEASE, apply_batch

BEFORE = [("contacts", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_text_rows_become_their_utf8_bytes_and_keep_their_unique_key():
    old = migrate(BEFORE)
    try:
        replica = old.get_model("contacts", "Replica").objects.create(name="before-bytes", clock=4)
        contacts = old.get_model("contacts", "Contact").objects
        contacts.create(replica=replica, user="Zoë", name="back\\slash é", phone="+55 85", clock=3)
        contacts.create(replica=replica, user="Zoë", name="gone", phone="", clock=4, deleted=True)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("contacts"))

    model, clock = open_replica("before-bytes", LEASE)
    assert list_contacts(model.id, "Zoë".encode()) == [("back\\slash é".encode(), b"+55 85")]
    # The key (replica, user, name) is unique again: a newer write replaces the row.
    apply_batch(model.id, clock, [Update(9, "Zoë".encode(), "back\\slash é".encode(), b"1")])
    assert list_contacts(model.id, "Zoë".encode()) == [("back\\slash é".encode(), b"1")]
    apply_batch(model.id, clock, [Update(3, "Zoë".encode(), b"gone", b"2")])  # older than the tombstone
    assert list_contacts(model.id, "Zoë".encode()) == [("back\\slash é".encode(), b"1")]
