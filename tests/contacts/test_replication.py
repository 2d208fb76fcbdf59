"""Three replicas on real loopback sockets converge under updates, deletes, restarts and cut links."""

import threading

from tests.contacts.conftest import Proxy, eventually


def test_a_change_at_one_replica_is_visible_at_the_others(cluster):
    one, two, three = cluster.mesh()
    with one.client("ana") as client:
        client.update("bob", "555-1234")
    assert eventually(lambda: two.list_all(b"ana") == [(b"bob", b"555-1234")])
    assert eventually(lambda: three.list_all(b"ana") == [(b"bob", b"555-1234")])
    with three.client("ana") as client:
        client.delete("bob")
    assert eventually(lambda: one.list_all(b"ana") == [] and two.list_all(b"ana") == [])


def test_concurrent_conflicting_updates_at_all_three_converge_to_one_value(cluster):
    replicas = cluster.mesh()

    def hammer(index, replica):
        with replica.client("ana") as client:
            for round_ in range(200):
                client.update("bob", f"{index}-{round_}")
                client.update(f"only-{index}", str(round_))
            client.list_all()

    threads = [threading.Thread(target=hammer, args=pair) for pair in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = cluster.agreed("ana")
    assert dict(final).keys() == {b"bob", b"only-0", b"only-1", b"only-2"}
    assert dict(final)[b"bob"] in {f"{index}-199".encode() for index in range(3)}
    assert all(dict(final)[f"only-{index}".encode()] == b"199" for index in range(3))


def test_an_update_racing_a_delete_ends_the_same_everywhere(cluster):
    one, two, three = cluster.mesh()
    names = [f"c{n}" for n in range(50)]
    with one.client("ana") as client:
        for name in names:
            client.update(name, "1")
    eventually(lambda: len(cluster.converged("ana") or []) == 50)
    with two.client("ana") as updater, three.client("ana") as deleter:
        for name in names:
            updater.update(name, "2")
            deleter.delete(name)
        updater.list_all(), deleter.list_all()  # both replicas have applied their own writes

    def settled():
        view = cluster.converged("ana")
        return view is not None and all(phone == b"2" for _, phone in view)

    assert eventually(settled)


def test_a_stopped_replica_catches_up_when_it_restarts(cluster):
    one, two, three = cluster.mesh()
    with one.client("ana") as client:
        client.update("old", "1")
    eventually(lambda: three.list_all(b"ana") == [(b"old", b"1")])
    three.stop()
    with one.client("ana") as client:
        client.update("new", "2")
        client.delete("old")
    with two.client("eve") as client:
        client.update("zed", "3")
    three.start()
    assert eventually(lambda: three.list_all(b"ana") == [(b"new", b"2")])
    assert eventually(lambda: three.list_all(b"eve") == [(b"zed", b"3")])


def test_a_cut_link_heals_and_both_sides_catch_up(cluster):
    two = cluster.replica()
    proxy = Proxy(two.port)
    try:
        one = cluster.replica(peers=[proxy.port])
        with one.client("ana") as client:
            client.update("before", "1")
        eventually(lambda: two.list_all(b"ana") == [(b"before", b"1")])
        proxy.cut()
        # Read through the writing connection: ListAll waits for that connection's own
        # writes (the protocol has no acknowledgements), so each side is seen complete.
        with one.client("ana") as client:
            client.update("from-one", "1")
            client.update("shared", "one")
            seen_by_one = client.list_all()
        with two.client("ana") as client:
            client.update("from-two", "2")
            client.update("shared", "two")
            client.delete("before")
            seen_by_two = client.list_all()
        assert (b"from-one", b"1") in seen_by_one
        assert (b"from-one", b"1") not in seen_by_two  # the cut holds
        proxy.restore()
        final = eventually(lambda: cluster.converged("ana") if len(cluster.converged("ana") or []) == 3 else None)
        assert {name for name, _ in final} == {b"from-one", b"from-two", b"shared"}
    finally:
        proxy.close()


def test_a_restarted_replica_keeps_its_contacts_and_clock(cluster):
    from tests.contacts.conftest import RawConnection

    alone = cluster.replica()
    with alone.client("ana") as client:
        for n in range(5):
            client.update(f"c{n}", str(n))
        client.delete("c0")
        client.list_all()
    alone.stop()
    alone.start()
    assert alone.list_all(b"ana") == [(f"c{n}".encode(), str(n).encode()) for n in range(1, 5)]
    peer = RawConnection.peer(alone.port)
    try:
        heartbeat = eventually(lambda: _next_heartbeat(peer))
        assert heartbeat.clock == 6
    finally:
        peer.close()


def _next_heartbeat(peer):
    from contacts.protocol import HeartBeat

    frame = peer.read_server_frame()
    return frame if isinstance(frame, HeartBeat) else None
