"""Fault scenarios with a hostile peer: poisoning frames during a burst, and a replica poisoned before the limit."""

import threading

import pytest

from contacts.clock import clock_limit
from contacts.protocol import Update
from tests.contacts.conftest import RawConnection
from tests.contacts.test_crash import burst, check_no_corruption
from tests.contacts.test_hostile_peers import POISON, advertised_clock
from tests.support import manage, output, report

pytestmark = pytest.mark.faults


def attack(replicas, rounds):
    """Send every replica the poisoning frame and a pinning Update, as a peer from 127.0.0.1 and as a stranger."""
    refused = 0
    for _ in range(rounds):
        for replica in replicas:
            for hello, source in ((POISON, "127.0.0.1"), (POISON, "127.0.0.2")):
                connection = RawConnection(replica.port, hello, source=source)
                refused += connection.is_closed_by_server()
                connection.close()
            peer = RawConnection.peer(replica.port)
            peer.sock.sendall(Update(2**32 - 1, b"burst-hostile", b"c000", b"pinned").encode())
            refused += peer.is_closed_by_server()
            peer.close()
    return refused


def test_poisoning_frames_during_a_burst_change_nothing_and_the_three_agree(cluster):
    replicas = cluster.mesh()
    acked, sent, cut = {}, {}, []
    writer = threading.Thread(target=burst, args=(replicas[0], "burst-hostile", acked, sent, cut))
    writer.start()
    refused = attack(replicas, rounds=20)
    writer.join()
    assert not cut, f"the burst was cut: {cut}"
    final = {contact.decode(): phone.decode() for contact, phone in cluster.agreed("burst-hostile", timeout=60)}
    check_no_corruption(final, acked, sent)
    assert final == {contact: str(n) for contact, n in sent.items()}
    clocks = [advertised_clock(replica) for replica in replicas]
    assert max(clocks) < clock_limit(10000)
    report(
        "contact replicas under hostile frames during a burst",
        hostile_connections=20 * 3 * 3,
        closed_by_the_replica=refused,
        writes=max(sent.values()) + 1,
        contacts_agreed_by_all_three=len(final),
        clocks_after=clocks,
    )


def test_a_replica_poisoned_before_the_limit_refuses_to_start_and_rejoins_after_reset_clock(cluster, contacts_env):
    first, second, third = cluster.mesh()
    with second.client("ana") as client:
        client.update("bob", "1")
        client.list_all()  # the write is stored before anyone compares
    cluster.agreed("ana")
    first.stop()
    # What the old code saved after the frame: the clock past 2**32 and a write stamped past it.
    manage(
        "shell",
        "-c",
        "from contacts.models import Replica, Contact; "
        f"r = Replica.objects.get(name='{first.name}'); "
        "Replica.objects.filter(id=r.id).update(clock=2**32 + 1, clock_reserved=2**32 + 10001); "
        "Contact.objects.create(replica=r, user=b'ana', name=b'pinned', phone=b'666', clock=2**32 + 1)",
        env=contacts_env,
    )
    refused = first.run_to_exit()
    assert refused.returncode != 0
    assert "--reset-clock" in refused.output
    first.start("--reset-clock")
    with first.client("ana") as client:
        client.update("pinned", "mine")
        client.list_all()  # the write is stored before anyone compares
    assert cluster.agreed("ana") == [(b"bob", b"1"), (b"pinned", b"mine")]
    assert "re-stamped" in output(first.process)
    report(
        "contact replica poisoned before the clock limit, restarted",
        refused_to_start=refused.output.strip().splitlines()[-1][:80] + "…",
        rows_restamped=1,
        converged_after_reset=True,
        clocks_after=[advertised_clock(replica) for replica in (first, second, third)],
    )
