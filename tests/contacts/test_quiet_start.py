"""Replicas started together do not log refusing each other's first dials; a peer that stays away is logged once."""

from tests.contacts.conftest import eventually


def test_a_peer_that_does_not_answer_is_logged_once_until_it_does(cluster):
    late = cluster.replica(start=False)
    early = cluster.replica(peers=[late.port])
    eventually(lambda: "does not answer" in early.log())
    late.peers = [early.port]
    late.start()
    eventually(lambda: f"linked with {late.name} (dialled)" in early.log())
    log = early.log()
    assert log.count("does not answer") == 1
    assert log.count("Connection refused") == 1  # in that one line


def test_replicas_started_together_log_no_refused_dial(cluster):
    # `make run`'s heartbeat: one replica starts while the next is still importing Django.
    one, two, three = cluster.mesh(3, CONTACTS_HEARTBEAT_INTERVAL=5, CONTACTS_READ_TIMEOUT=10)
    for replica in (one, two, three):
        others = [other for other in (one, two, three) if other is not replica]
        eventually(lambda: all(f"linked with {other.name} (dialled)" in replica.log() for other in others))  # noqa: B023
        assert "Connection refused" not in replica.log()
