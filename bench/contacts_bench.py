"""Contacts replica benchmark: updates/s, ListAll of 10,000 contacts, convergence latency.

Starts three replicas (`manage.py contact_replica`, full mesh, replicas 1 and 2 pinned to
the server core and replica 3 to the load core, as separate as two cores allow) on fresh
SQLite files unless `--replicas HOST:PORT HOST:PORT HOST:PORT` points at running
ones, and prints one JSON line per metric (updates/s: the median of 3 runs); results in
bench/results/contacts.json. `make bench` runs this on the load core.

`--compare HOST:PORT` also measures a running replica of another implementation (the Go
original, started and pinned by you): updates/s alternate run by run between a replica of
ours without peers and that one, and the ratio of the medians is reported with how many
updates each lost or got wrong.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from bench.harness import (
    LOAD_CORE,
    RUNS,
    SERVER_CORE,
    emit,
    manage_env,
    pinned,
    save,
    thread_cpu_seconds,
    thread_cpu_us_each,
)
from contacts.client import ContactsClient
from contacts.protocol import ClientUpdate
from tests.support import ROOT, free_port, manage, manage_command, spawn, stop_process, wait_for_port

RECORDS = []


def report(metric, value, unit, **extra):
    RECORDS.append(emit({"metric": metric, "value": round(value, 3), "unit": unit, **extra}))


def start_replica(workdir, database, name, port, peers=(), core=SERVER_CORE):
    """A replica pinned to `core`, in production mode like the web process."""
    env = manage_env(f"sqlite:///{workdir}/{database}.sqlite3")
    manage("migrate", "-v0", env=env)
    peers = [arg for other in peers for arg in ("--peer", f"127.0.0.1:{other}")]
    command = ["contact_replica", "--name", name, "--listen", f"127.0.0.1:{port}", *peers]
    return spawn(pinned(manage_command(*command), core), env)


def start_replicas(workdir, shared, cores=(SERVER_CORE,) * 3):
    """Three replicas in a full mesh, each on its own SQLite file unless `shared` (as `make run`), on `cores`."""
    ports = [free_port() for _ in range(3)]
    processes = [
        start_replica(
            workdir, "shared" if shared else f"replica-{index}", f"bench-{index}", port, set(ports) - {port}, core
        )
        for index, (port, core) in enumerate(zip(ports, cores, strict=True), start=1)
    ]
    for port, process in zip(ports, processes, strict=True):
        wait_for_port(port, process=process)
    return [("127.0.0.1", port) for port in ports], processes


def updates_per_second(address, count, metric="contacts_updates_per_second", pid=None):
    """The median of RUNS runs of `one_stream`; True if every run stored every update exactly.

    With the replica's `pid`, also its CPU µs per update on its event loop and on its other
    threads (storing, reading), from the run with the median rate.
    """
    runs = []
    for _ in range(RUNS):
        before = thread_cpu_seconds(pid) if pid else None
        run = one_stream(address, count)
        if pid:
            loop, threads = thread_cpu_us_each(pid, before, 2 * count)
            run |= {"cpu_us_event_loop": round(loop, 2), "cpu_us_other_threads": round(threads, 2)}
        runs.append(run)
    runs.sort(key=lambda run: run["rate"])
    median = runs[len(runs) // 2]
    exact = all(run["exact"] for run in runs)
    cpu = {key: median[key] for key in ("cpu_us_event_loop", "cpu_us_other_threads") if key in median}
    rates = [run["rate"] for run in runs]
    report(metric, median["rate"], "updates/s", updates=2 * count, runs=rates, exact=exact, **cpu)
    return exact


def compare_updates(ours, theirs, count):
    """Alternate `one_stream` on our replica and theirs, RUNS each; report both medians and their ratio."""
    runs = {"ours": [], "theirs": []}
    for _ in range(RUNS):
        for side, address in (("ours", ours), ("theirs", theirs)):
            runs[side].append(one_stream(address, count))
    medians = {side: statistics.median(run["rate"] for run in side_runs) for side, side_runs in runs.items()}
    exact = all(run["exact"] for run in runs["ours"])
    report(
        "contacts_updates_per_second_vs_compared",
        medians["ours"] / medians["theirs"],
        "ratio",
        ours=round(medians["ours"]),
        theirs=round(medians["theirs"]),
        ours_runs=[round(run["rate"]) for run in runs["ours"]],
        theirs_runs=[round(run["rate"]) for run in runs["theirs"]],
        ours_exact=exact,
        theirs_lost=[run["lost"] for run in runs["theirs"]],
        theirs_wrong=[run["wrong"] for run in runs["theirs"]],
        updates=2 * count,
    )
    return exact


def one_stream(address, count):
    """One client sends `count` updates; the clock stops when a ListAll after them answers.

    A replica reads a client's frames in order, so the answer comes after every update
    before it was applied (ours: stored). The Go original misreads some frames and may
    then never answer: such a run fails after 30 s.
    """
    user = f"throughput-{uuid.uuid4().hex[:8]}"
    rows = stream_rows(count)
    expected = dict(rows)  # the second value of each contact
    frames = [ClientUpdate(name, phone).encode() for name, phone in rows]
    with ContactsClient(*address, user, timeout=120) as client:
        started = time.perf_counter()
        for at in range(0, len(frames), 256):
            client.sock.sendall(b"".join(frames[at : at + 256]))
        client.sock.settimeout(30)
        stored = client.list_all()
        elapsed = time.perf_counter() - started
    stored = dict(stored)
    lost = sum(name not in stored for name in expected)
    wrong = sum(stored[name] != phone for name, phone in expected.items() if name in stored)
    exact = lost == wrong == 0 and len(stored) == count
    return {"rate": len(frames) / elapsed, "exact": exact, "lost": lost, "wrong": wrong}


def stream_rows(count):
    """(contact, phone) of `one_stream`'s updates, in order: every contact twice, the second value last."""
    names = [f"contact-{n:06d}".encode() for n in range(count)]
    return [(name, b"0") for name in names] + [(name, str(n).encode()) for n, name in enumerate(names)]


def store_cost(count, batch=2000):
    """Run in the project (`manage.py shell`): CPU µs a row to store `one_stream`'s updates, two ways.

    `sqlite`: the replica's upsert and clock save alone, on the driver's connection, one
    transaction per batch: what SQLite itself costs. `store_writes`: the replica's storing
    function (contacts.services) on the same batches, its Python and Django's cursor included.
    """
    from django.db import connection

    from contacts import services
    from contacts.models import Replica
    from contacts.protocol import Update
    from contacts.services import Write

    rows = stream_rows(count)
    connection.ensure_connection()
    driver = connection.connection
    upsert = services.statements()["upsert"]  # SQLite's parameter style
    save_clock = f"UPDATE {Replica._meta.db_table} SET clock = ? WHERE id = ?"
    replica = Replica.objects.create(name="store-cost-sqlite").id
    batches = [
        [
            (replica, b"u", name, phone, clock, False, None)
            for clock, (name, phone) in enumerate(rows[at : at + batch], at + 1)
        ]
        for at in range(0, len(rows), batch)
    ]
    started = time.process_time()
    for batch_rows in batches:
        driver.execute("BEGIN IMMEDIATE")
        driver.executemany(upsert, batch_rows)
        driver.execute(save_clock, (batch_rows[-1][4], replica))  # the batch's newest clock
        driver.execute("COMMIT")
    sqlite = time.process_time() - started
    replica = Replica.objects.create(name="store-cost-services").id
    writes = [Write(Update(clock, b"u", name, phone), True) for clock, (name, phone) in enumerate(rows, 1)]
    started = time.process_time()
    for at in range(0, len(writes), batch):
        services.store_writes(replica, writes[at : at + batch], at + batch, at + batch)
    store_writes = time.process_time() - started
    print(json.dumps({"sqlite": 1e6 * sqlite / len(rows), "store_writes": 1e6 * store_writes / len(rows)}))


def measure_store_cost(workdir, count):
    """`store_cost` on a fresh SQLite file, in a child process pinned to the server core; reported per row."""
    env = manage_env(f"sqlite:///{workdir}/store-cost.sqlite3")
    manage("migrate", "-v0", env=env)
    code = f"from bench.contacts_bench import store_cost; store_cost({count})"
    command = pinned(manage_command("shell", "-c", code), SERVER_CORE)
    output = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    cost = json.loads(output.strip().splitlines()[-1])
    report("contacts_store_cpu_us_per_row_sqlite", cost["sqlite"], "µs", updates=2 * count)
    report("contacts_store_cpu_us_per_row_store_writes", cost["store_writes"], "µs", updates=2 * count)


def list_all_time(address, count=10_000, runs=20, metric="contacts_list_all_10k_ms"):
    """ListAll of a user with `count` contacts, once the list has settled; a replica that stops answering is noted."""
    user = f"listall-{uuid.uuid4().hex[:8]}"
    times, entries = [], None
    with ContactsClient(*address, user, timeout=60) as client:
        client.sock.sendall(
            b"".join(ClientUpdate(f"c{n:05d}".encode(), f"+55 85 9{n:08d}".encode()).encode() for n in range(count))
        )
        client.sock.settimeout(10)
        try:
            while (again := client.list_all()) != entries:  # the Go original answers before it has applied all
                entries = again
            for _ in range(runs):
                started = time.perf_counter()
                entries = client.list_all()
                times.append((time.perf_counter() - started) * 1000)
        except (TimeoutError, ConnectionError) as error:
            report(metric, float("nan"), "ms", answered=len(times), error=str(error) or type(error).__name__)
            return
    times.sort()
    report(
        metric,
        statistics.median(times),
        "ms",
        p50=times[len(times) // 2],
        max=times[-1],
        listed=len(entries),
        runs=runs,
    )


def convergence_latency(addresses, samples=300, interval=0.01):
    """A change at replica 1 until both other replicas list it, one change at a time, `interval` s apart."""
    user = f"latency-{uuid.uuid4().hex[:8]}"
    writer = ContactsClient(*addresses[0], user)
    readers = [ContactsClient(*address, user) for address in addresses[1:]]
    latencies = []
    for n in range(samples):
        expected = [(b"bob", str(n).encode())]
        started = time.perf_counter()
        writer.update("bob", str(n))
        pending = list(readers)
        while pending:
            pending = [reader for reader in pending if reader.list_all() != expected]
            if time.perf_counter() - started > 10:
                raise RuntimeError(f"sample {n} did not converge in 10 s")
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(interval)
    for client in [writer, *readers]:
        client.close()
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    report(
        "contacts_convergence_ms",
        p99,
        "ms",
        p50=round(p50, 3),
        p99=round(p99, 3),
        samples=samples,
        interval_ms=interval * 1000,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", nargs=3, metavar="HOST:PORT", help="Use running replicas instead.")
    parser.add_argument("--shared-db", action="store_true", help="All three on one SQLite file, as `make run`.")
    parser.add_argument("--updates", type=int, default=25_000, help="Distinct contacts (each written twice).")
    parser.add_argument("--compare", metavar="HOST:PORT", help="A running replica to compare with (the Go original).")
    parser.add_argument("--skip-mesh", action="store_true", help="Only the replica without peers (and --compare).")
    parser.add_argument(
        "--replica-cores",
        default=",".join([SERVER_CORE, SERVER_CORE, LOAD_CORE]),
        help="Cores of the mesh's three replicas (default: replica 1 and 2 on the server core, 3 on the load core).",
    )
    args = parser.parse_args()
    processes = []
    with tempfile.TemporaryDirectory() as workdir:
        try:
            if args.replicas:
                addresses = [(host, int(port)) for host, _, port in (a.rpartition(":") for a in args.replicas)]
            elif not args.skip_mesh:
                addresses, processes = start_replicas(workdir, args.shared_db, args.replica_cores.split(","))
            exact = True
            if not args.skip_mesh:
                convergence_latency(addresses)
                list_all_time(addresses[0])
                exact = updates_per_second(addresses[0], args.updates)
            if not args.replicas:
                measure_store_cost(workdir, args.updates)
                # The same load on a replica with no peers: what one replica can store on its own.
                port = free_port()
                processes.append(start_replica(workdir, "alone", "bench-alone", port))
                wait_for_port(port, process=processes[-1])
                alone = ("127.0.0.1", port)
                exact &= updates_per_second(
                    alone, args.updates, "contacts_updates_per_second_no_peers", pid=processes[-1].pid
                )
                if args.compare:
                    host, _, compared_port = args.compare.rpartition(":")
                    compared = (host, int(compared_port))
                    exact &= compare_updates(alone, compared, args.updates)
                    list_all_time(alone, metric="contacts_list_all_10k_ms_no_peers")
                    # Not the compared replica's ListAll: the Go original, having misread its stream,
                    # may announce a count and never send that many entries, and the bench would hang.
        finally:
            for process in processes:
                stop_process(process, 30)
    if not args.replicas:
        save("contacts", RECORDS)
    sys.exit(0 if exact else 1)


if __name__ == "__main__":
    main()
