"""On PostgreSQL a heartbeat commits without waiting for the WAL flush, and nothing else does."""

import pytest
from django.db import connection

from nameserver import services
from nameserver.models import Client
from tests.nameserver.test_kept_map import on_another_connection

pytestmark = [
    pytest.mark.django_db(transaction=True),  # autocommit, as in the server
    pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commit is PostgreSQL's"),
]


def synchronous_commit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_heartbeat_is_visible_at_once_and_leaves_later_writes_durable():
    client = services.register(Client, ip="10.0.0.1", port=1, name="linus")
    assert synchronous_commit() == "on"

    assert services.heartbeat(Client, client.id)

    # The next statement of the connection waits for the flush again, as chat messages must.
    assert synchronous_commit() == "on"
    seen = []
    on_another_connection(lambda: seen.append(Client.objects.get(id=client.id).connected))
    assert seen[0] > client.connected
