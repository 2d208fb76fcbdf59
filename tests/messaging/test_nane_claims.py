"""Nane names claimed together: one transaction a batch, with the outcome of one claim at a time."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatsite.core import database
from messaging import services
from messaging.models import ChatSession
from messaging.nane_names import NaneNames, get_nane_names
from tests.nameserver.test_kept_map import on_another_connection

pytestmark = pytest.mark.django_db(transaction=True)


def held():
    """(dialect, nickname, nodes) of every name held."""
    return sorted(ChatSession.objects.holding_nickname().values_list("dialect", "nickname", "nodes"))


def test_a_batch_has_the_outcome_of_one_claim_at_a_time():
    dana = services.claim_nane_name("Dana")  # another node's sockets hold Dana
    services.issue_token("bob")
    services.claim_nane_name("eve")
    frank = services.claim_nane_name("Frank")
    ChatSession.objects.filter(pk=frank).update(seen=timezone.now() - timedelta(days=1))  # its node died

    outcomes = services.claim_nane_names(["alice", "Dana", "Bob", "EVE", "frank"])

    assert outcomes[1] == dana
    assert outcomes[2:4] == [None, None]
    assert None not in (outcomes[0], outcomes[4])
    assert outcomes[4] != frank
    assert held() == [
        ("nane", "Dana", 2),
        ("nane", "alice", 1),
        ("nane", "eve", 1),
        ("nane", "frank", 1),
        ("token", "bob", 0),
    ]
    assert ChatSession.objects.get(pk=frank).ended is not None


def test_a_batch_costs_the_same_statements_whatever_its_size():
    def statements(usernames):
        with CaptureQueriesContext(connection) as queries:
            assert None not in services.claim_nane_names(usernames)
        return len(queries)

    # Up to 99 names: past that, Django splits SQLite's INSERT (999 parameters a statement, 10 a row).
    assert statements([f"few{i}" for i in range(3)]) == statements([f"many{i}" for i in range(60)])


def test_the_largest_batch_claims_every_name(settings):
    usernames = [f"user{i}" for i in range(settings.CHAT_WRITE_BATCH)]  # the most one batch takes

    assert None not in services.claim_nane_names(usernames)
    assert len(held()) == settings.CHAT_WRITE_BATCH


def test_two_spellings_of_one_name_in_a_batch_are_refused_and_nothing_is_stored():
    with pytest.raises(ValueError, match="one username per name key"):
        services.claim_nane_names(["carol", "Carol"])
    assert held() == []


@pytest.fixture
def another_node_before_the_insert(monkeypatch):
    """Run `work` on another connection, committed, between a batch's look and its write."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's IMMEDIATE transactions serialise writers: nothing comes between a look and a write")
    original = QuerySet.bulk_create

    def arrange(work):
        def bulk_create(queryset, objs, *args, **kwargs):
            if queryset.model is ChatSession:
                monkeypatch.setattr(QuerySet, "bulk_create", original)
                on_another_connection(work)
            return original(queryset, objs, *args, **kwargs)

        monkeypatch.setattr(QuerySet, "bulk_create", bulk_create)

    return arrange


def test_a_name_another_node_takes_meanwhile_is_refused_and_the_rest_claimed(another_node_before_the_insert):
    another_node_before_the_insert(lambda: services.issue_token("alice"))

    alice, carol = services.claim_nane_names(["alice", "carol"])

    assert alice is None
    assert carol is not None
    assert held() == [("nane", "carol", 1), ("token", "alice", 0)]


def test_a_name_another_node_frees_meanwhile_is_claimed_anew(another_node_before_the_insert):
    dana = services.claim_nane_name("Dana")
    another_node_before_the_insert(lambda: services.release_nane_names([dana]))

    claimed, _ = services.claim_nane_names(["Dana", "zed"])

    assert claimed not in (None, dana)
    assert held() == [("nane", "Dana", 1), ("nane", "zed", 1)]


async def test_sockets_that_connect_while_a_batch_is_stored_share_the_next(nane, monkeypatch):
    batches = []
    claim = NaneNames.claim

    async def counted(self, usernames):
        batches.append(len(usernames))
        return await claim(self, usernames)

    monkeypatch.setattr(NaneNames, "claim", counted)
    names = get_nane_names()  # this loop's, built with the counted claim
    gate = threading.Event()
    busy = asyncio.ensure_future(database.run(gate.wait, 10))  # the database thread is busy meanwhile
    connecting = [asyncio.ensure_future(nane(f"user{i}")) for i in range(20)]

    async def all_claims_made():
        while sum(batches) + len(names.claims.pending) < 20:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_claims_made(), 10)
    gate.set()

    await asyncio.gather(busy, *connecting)

    assert sum(batches) == 20
    assert len(batches) <= 2  # the batch taken before the gate opened, and all the rest
    assert len(await database.run(held)) == 20
