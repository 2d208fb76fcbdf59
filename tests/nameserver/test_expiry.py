import pytest
from django.core.management import call_command
from django.db import connection

from nameserver.models import Client, Node
from nameserver.services import prune_expired
from tests.support import sql_statements

pytestmark = pytest.mark.django_db


def test_client_is_live_exactly_at_the_ttl(api, register, clock, settings):
    settings.NAMESERVER_TTL = 5
    client_id = register()

    clock.advance(5)

    assert client_id in api.get("/clients").json()


def test_expired_client_is_not_listed_even_before_pruning(api, register, clock, settings):
    settings.NAMESERVER_TTL = 5
    client_id = register()

    clock.advance(5.000001)

    assert api.get("/clients").json() == {}
    assert Client.objects.filter(id=client_id).exists()


def test_heartbeat_keeps_a_client_alive_past_the_ttl(api, register, clock):
    client_id = register()
    for _ in range(4):
        clock.advance(3)
        assert api.patch("/client", {"id": client_id}, format="json").status_code == 200

    assert client_id in api.get("/clients").json()


def test_heartbeat_after_expiry_is_404_and_does_not_revive(api, register, clock):
    client_id = register()
    clock.advance(6)

    response = api.patch("/client", {"id": client_id}, format="json")

    assert response.status_code == 404
    assert api.get("/clients").json() == {}


def test_heartbeat_map_leaves_out_expired_clients(api, register, clock):
    stale = register(name="stale")
    clock.advance(4)
    fresh = register(name="fresh")
    clock.advance(2)

    live = api.patch("/client", {"id": fresh}, format="json").json()

    assert fresh in live
    assert stale not in live


def test_prune_deletes_only_expired_entries_in_one_query_per_registry(register, clock, django_assert_num_queries):
    stale = register(name="stale")
    clock.advance(4)
    fresh = register(name="fresh")
    clock.advance(2)

    with django_assert_num_queries(2):
        assert prune_expired() == 1

    assert list(Client.objects.values_list("id", flat=True)) == [Client.objects.get(id=fresh).id]
    assert not Client.objects.filter(id=stale).exists()


def test_worker_once_prunes_clients_and_nodes_and_says_how_many(api, register, clock, capsys):
    register(name="a")
    register(name="b")
    assert api.post("/node", {"ip": "127.0.0.1", "port": 8000, "name": "web-1"}, format="json").status_code == 201
    clock.advance(10)

    call_command("nameserver_worker", "--once")

    assert "Pruned 3 expired entries." in capsys.readouterr().out
    assert not Client.objects.exists()
    assert not Node.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts statements with SQLite's trace callback")
def test_listing_and_heartbeats_take_one_statement_each(api, register):
    ids = [register(name=f"client-{index}") for index in range(5)]
    with sql_statements() as listing:
        assert len(api.get("/clients").json()) == 5
    with sql_statements() as heartbeat:
        assert len(api.patch("/client", {"id": ids[0]}, format="json").json()) == 5
    assert [sql.split()[0] for sql in listing] == ["SELECT"]
    assert [sql.split()[0] for sql in heartbeat] == ["UPDATE", "SELECT"]
