"""PostgreSQL: the hot paths' statements are prepared at first use, Django's queries never; the switch turns it off."""

import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.db import ProgrammingError, connection

from contacts.services import open_replica, stored_versions
from messaging import services
from messaging.models import Room
from tests.support import ROOT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"),
]

# Run in a process of its own, on the test database: six chat messages, then what the session has prepared.
SIX_MESSAGES = """
import django
django.setup()
from django.db import connection
from messaging import services
for n in range(6):
    services.post_messages([services.Post("prepared", "alice", f"message {n}", None)])
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%unnest%%'")
    print(cursor.fetchone()[0])
"""


def prepared(pattern):
    """How many statements this session has prepared whose text has `pattern`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{pattern}%"])
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def own_session():
    """A session of the test's own: prepared statements belong to one."""
    connection.close()
    yield
    connection.close()


def post(n):
    return services.post_messages([services.Post("prepared", "alice", f"message {n}", None)])


def test_the_chat_write_is_prepared_at_its_first_use_and_then_reused():
    post(0)
    assert prepared("unnest") == 1
    for n in range(1, 20):
        post(n)
    assert prepared("unnest") == 1, "prepared once, then reused"
    assert [message.text for message in Room.objects.get(key="prepared").messages.order_by("seq")][-2:] == [
        "message 18",
        "message 19",
    ]


def test_statements_deallocated_behind_the_cursors_back_are_prepared_again():
    post(0)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a pooler's reset or psycopg after a rollback would
    assert prepared("unnest") == 0
    post(1)  # refused by the server before it ran, then run again prepared anew
    assert prepared("unnest") == 1
    assert Room.objects.get(key="prepared").messages.count() == 2


def test_one_statement_deallocated_alone_leaves_the_others_names_taken():
    post(0)  # a new room: every statement of the store is prepared
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE statement = 'BEGIN'")
        (begin,) = cursor.fetchone()
        cursor.execute(f"DEALLOCATE {begin}")
    services.post_messages([services.Post("another", "alice", "hello", None)])  # begins with it
    assert Room.objects.get(key="another").messages.count() == 1


def test_django_queries_are_never_prepared():
    for _ in range(20):
        Room.objects.filter(key="nowhere").count()
    assert prepared("nowhere") == prepared("COUNT(*)") == 0


def test_a_statement_shaped_by_a_peers_batch_is_never_prepared():
    # Its text has one parameter per user and contact name of a batch: prepared, every shape
    # a peer sent would stay in the server's memory.
    replica, _ = open_replica("prepared", 10)
    for _ in range(10):
        stored_versions(replica.id, {(b"ana", b"bob"), (b"ana", b"eve")})
    assert prepared(" IN (") == 0


def test_the_switch_turns_preparing_off():
    settings = connection.settings_dict
    login = quote(settings["USER"]) + (f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else "")
    url = f"postgres://{login}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatsite.settings", "DATABASE_URL": url}
    counts = {}
    for switch in ("1", "0"):
        environment["DATABASE_PREPARED_STATEMENTS"] = switch
        ran = subprocess.run(
            [sys.executable, "-c", SIX_MESSAGES], cwd=ROOT, env=environment, capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr[-2000:]
        counts[switch] = int(ran.stdout.split()[-1])
    assert counts == {"1": 1, "0": 0}


def test_a_pooler_that_loses_every_prepared_statement_gets_a_clear_error():
    # PgBouncer before 1.21 in transaction mode: each statement may reach another server.
    post(0)
    statements = connection.statements
    prepare = statements.name

    def prepared_then_lost(query):
        name = prepare(query)
        if name is not None:
            connection.connection.pgconn.exec_(b"DEALLOCATE ALL")
        return name

    statements.name = prepared_then_lost
    with pytest.raises(ProgrammingError, match="DATABASE_PREPARED_STATEMENTS=0"):
        post(1)
    assert Room.objects.get(key="prepared").messages.count() == 1
