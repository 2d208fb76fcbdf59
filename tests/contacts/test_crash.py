"""A replica SIGKILLed in the middle of a burst of updates, then restarted: nothing acknowledged is lost."""

import signal
import threading
import time

import pytest

from tests.contacts.conftest import eventually
from tests.support import report

CONTACTS = 100
WRITES = 10_000
ACK_EVERY = 250  # a ListAll answered after a write means the replica has applied it

pytestmark = pytest.mark.faults


def burst(replica, user, acked, sent, cut):
    """Update CONTACTS contacts round-robin with rising values until WRITES or the connection dies.

    `cut` gets the error that ended the burst early, if one did.
    """
    try:
        with replica.client(user) as client:
            for n in range(WRITES):
                client.update(f"c{n % CONTACTS:03}", str(n))
                sent[f"c{n % CONTACTS:03}"] = n
                if n % ACK_EVERY == ACK_EVERY - 1:
                    client.list_all()
                    acked.update(sent)
            client.list_all()
            acked.update(sent)
    except OSError as error:
        cut.append(error)


def kill_mid_burst(cluster, victim, writer, user):
    """Run a burst at `writer`, SIGKILL `victim` once some writes are acknowledged, restart it.

    Returns what was acknowledged, what was sent, the error that cut the burst (or None),
    the list all three replicas agree on, and the seconds they took to agree.
    """
    acked, sent, cut = {}, {}, []
    thread = threading.Thread(target=burst, args=(writer, user, acked, sent, cut))
    thread.start()
    eventually(lambda: len(acked) == CONTACTS and min(acked.values()) >= WRITES // 4)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    thread.join()
    restarted = time.monotonic()
    victim.start()
    final = {contact.decode(): phone.decode() for contact, phone in cluster.agreed(user, timeout=60)}
    caught_up = round(time.monotonic() - restarted, 2)
    return acked, sent, (cut or [None])[0], final, caught_up


def check_no_corruption(final, acked, sent):
    """Every contact is one we wrote, with a value we sent, never older than its last acknowledged one."""
    assert final.keys() == acked.keys()
    for contact, phone in final.items():
        assert acked[contact] <= int(phone) <= sent[contact], (contact, phone, acked[contact], sent[contact])


def test_a_peer_killed_mid_burst_catches_up_with_every_write_after_restarting(cluster):
    one, two, _ = cluster.mesh()
    acked, sent, cut, final, caught_up = kill_mid_burst(cluster, victim=two, writer=one, user="burst-peer")
    assert cut is None, f"the burst to replica 1 was cut short: {cut}"
    assert max(sent.values()) == WRITES - 1
    check_no_corruption(final, acked, sent)
    assert final == {contact: str(n) for contact, n in sent.items()}, "replica 1 saw the whole burst"
    report(
        "contact replica 2 SIGKILLed mid-burst to replica 1",
        writes=max(sent.values()) + 1,
        contacts_agreed_by_all_three=len(final),
        caught_up_after_restart_s=caught_up,
    )


def test_the_replica_written_to_killed_mid_burst_keeps_every_acknowledged_write(cluster):
    one, _, _ = cluster.mesh()
    acked, sent, cut, final, caught_up = kill_mid_burst(cluster, victim=one, writer=one, user="burst-self")
    acknowledged_lost = sum(int(final.get(contact, -1)) < n for contact, n in acked.items())
    check_no_corruption(final, acked, sent)
    # Writes are applied in order, so the newest value anywhere tells how far replica 1 got.
    last_sent, last_acked = max(sent.values()), max(acked.values())
    applied = max(int(phone) for phone in final.values())
    report(
        "contact replica 1 SIGKILLed mid-burst to itself",
        burst_cut_by=type(cut).__name__ if cut else "nothing (the kill came after the last write)",
        writes_sent=last_sent + 1,
        acknowledged=last_acked + 1,
        acknowledged_lost=acknowledged_lost,
        unacknowledged=last_sent - last_acked,
        unacknowledged_lost=last_sent - applied,
        contacts_agreed_by_all_three=len(final),
        caught_up_after_restart_s=caught_up,
    )
