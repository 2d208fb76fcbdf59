"""Mutation audit: make known, realistic bugs one at a time in a copy of the repository, and see the tests catch each.

    .venv/bin/python scripts/mutants.py            # every mutant (`make mutants`)
    .venv/bin/python scripts/mutants.py --list
    .venv/bin/python scripts/mutants.py clock-observe-no-limit readyz-cached

Each mutant is a file, an exact text in it (found exactly once, or the audit stops: the
code moved and the mutant must be written again), the text that replaces it, and the
tests that must catch it. The tests run first on the unchanged copy, where they must
pass; then once per mutant, where at least one must fail. A mutant whose tests all pass
is *missed*: the bug it makes could ship. Exit status 1 if any is missed or broken.

The copy is a temporary directory holding the files git knows, as they are in the work
tree (uncommitted changes included); the work tree itself is never changed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple
    bug: str


KEPT_MAP = "tests/nameserver/test_kept_map.py"
HEALTH = "tests/chatsite/test_health.py"
METRICS_ACCESS = "tests/chatsite/test_metrics_access.py"
SEND_BUFFER = "tests/chatsite/test_send_buffer.py"
RECOVERY = "tests/messaging/test_recovery.py"
LWW = "tests/contacts/test_last_writer_wins.py"
UVICORN_CONTRACT = "tests/chatsite/test_uvicorn_contract.py"
READYZ_LOST = (
    f"{HEALTH}::test_a_database_lost_after_start_up_makes_the_process_unready_until_it_is_back",
    # A real process and a real server lost; run on PostgreSQL (DATABASE_URL=postgres://...), skipped on SQLite.
    f"{HEALTH}::test_a_web_process_that_loses_its_database_server_answers_503_until_it_is_back",
)

MUTANTS = (
    Mutant(
        "heartbeat-stale-map",
        "nameserver/store.py",
        "kept_now = up_to_date_map(cursor, model, connection)  # so the write below is all it lacks",
        "kept_now = kept_map(model, connection)  # so the write below is all it lacks",
        (f"{KEPT_MAP}::test_a_heartbeat_answers_with_clients_registered_and_deleted_elsewhere",),
        "a heartbeat answers from the kept map without bringing it up to date",
    ),
    Mutant(
        "kept-map-trusts-the-cycle",
        "nameserver/store.py",
        "            self.checked_in = cycle\n        return self.changes == self.driver_connection.total_changes",
        "            self.checked_in = cycle\n            return self.changes == self.driver_connection.total_changes\n"
        "        return True",
        (f"{KEPT_MAP}::test_a_registration_shows_in_a_list_later_in_the_same_batch",),
        "a kept-map read skips every check once other writers were looked for in the request cycle",
    ),
    Mutant(
        "kept-map-version-after-rows",
        "nameserver/store.py",
        '        (self.data_version,) = cursor.execute("PRAGMA data_version").fetchone()\n'
        "        rows = cursor.execute(sql).fetchall()\n",
        "        rows = cursor.execute(sql).fetchall()\n"
        '        (self.data_version,) = cursor.execute("PRAGMA data_version").fetchone()\n',
        (f"{KEPT_MAP}::test_a_commit_elsewhere_while_the_map_is_read_shows_at_the_next_read",),
        "the kept map's version is read after its rows (the bug the first audit found)",
    ),
    Mutant(
        "slow-client-no-disconnect",
        "chatsite/server/websocket_protocol.py",
        '        self.queue.put_nowait({"type": "websocket.disconnect", "code": POLICY_VIOLATION})\n',
        "",
        (f"{SEND_BUFFER}::test_the_application_hears_of_a_slow_clients_close_at_once_with_1008",),
        "a slow client is closed, but the application is never told",
    ),
    Mutant(
        "send-buffer-setting-ignored",
        "chatsite/server/websocket_protocol.py",
        "transport.set_write_buffer_limits(high=settings.WS_MAX_SEND_BUFFER_BYTES)",
        "transport.set_write_buffer_limits()",
        (f"{SEND_BUFFER}::test_a_client_is_closed_once_more_than_the_send_buffer_setting_waits",),
        "WS_MAX_SEND_BUFFER_BYTES is ignored (the transport's own 64 KiB default applies)",
    ),
    Mutant(
        "frames-extension-not-offered",
        "chatsite/server/websocket_protocol.py",
        '            self.scope["extensions"][FRAMES_EXTENSION] = {"sink": self}\n',
        "            pass\n",
        (f"{UVICORN_CONTRACT}::test_frames_written_to_the_sink_arrive_as_valid_frames",),
        "the server no longer offers the frames extension: every broadcast falls back to websocket.send",
    ),
    Mutant(
        "pings-not-in-step",
        "chatsite/server/websocket_protocol.py",
        "self.loop.call_at(math.ceil(self.loop.time() + delay), self.send_keepalive_ping)",
        "self.loop.call_at(self.loop.time() + delay, self.send_keepalive_ping)",
        (f"{UVICORN_CONTRACT}::test_pings_due_in_the_same_second_go_out_together_on_the_whole_second",),
        "each socket is pinged on its own schedule again, waking the process once per socket",
    ),
    Mutant(
        "metrics-unparseable-address-allowed",
        "chatsite/core/networks.py",
        "    return ip is not None and any(ip in network for network in networks)",
        "    return ip is None or any(ip in network for network in networks)",
        (f"{METRICS_ACCESS}::test_a_client_address_that_is_not_an_ip_is_refused",),
        "an unparseable REMOTE_ADDR is allowed to /metrics",
    ),
    Mutant(
        "metrics-ipv4-mapped-not-normalised",
        "chatsite/core/networks.py",
        '    return getattr(ip, "ipv4_mapped", None) or ip',
        "    return ip",
        (f"{METRICS_ACCESS}::test_an_ipv4_mapped_address_is_allowed_as_the_ipv4_address_it_maps",),
        "IPv4-mapped IPv6 addresses (::ffff:10.1.2.3) are no longer matched as IPv4",
    ),
    Mutant(
        "metrics-trusts-x-forwarded-for",
        "chatsite/views.py",
        'if not is_allowed_scraper(request.META.get("REMOTE_ADDR", "")):',
        'if not is_allowed_scraper(request.META.get("HTTP_X_FORWARDED_FOR") or request.META.get("REMOTE_ADDR", "")):',
        (f"{METRICS_ACCESS}::test_a_forwarded_for_header_does_not_let_an_outsider_in",),
        "/metrics trusts X-Forwarded-For before REMOTE_ADDR",
    ),
    Mutant(
        "readyz-database-error-healthy",
        "chatsite/health.py",
        '        return f"the database does not answer: {error}"',
        "        return None",
        READYZ_LOST,
        "/readyz treats a database error as healthy",
    ),
    Mutant(
        "readyz-connection-object-only",
        "chatsite/health.py",
        "        with connection.cursor() as cursor:\n"
        '            cursor.execute("SELECT 1")\n'
        "            return sqlite_write_problem(cursor) if connection.vendor == "
        '"sqlite" else postgresql_write_problem(cursor)',
        "        connection.ensure_connection()\n        return None",
        READYZ_LOST,
        "/readyz looks at the connection object instead of running a query",
    ),
    Mutant(
        "readyz-cached",
        "chatsite/health.py",
        'def readiness():\n    """',
        'import functools  # noqa: E402\n\n\n@functools.cache\ndef readiness():\n    """',
        READYZ_LOST,
        "/readyz's answer is cached for the life of the process",
    ),
    Mutant(
        "recovery-does-not-follow-its-trail",
        "messaging/consumers.py",
        "            self.fanout.follow(self.connection, trail)",
        "            pass",
        (f"{RECOVERY}::test_a_late_broadcast_of_a_replayed_message_is_not_sent_again",),
        "a recovering connection no longer follows its trail: a late broadcast of a replayed message comes twice",
    ),
    Mutant(
        "trail-never-back-to-live",
        "messaging/fanout.py",
        "                del self.trailing[connection]\n                self.nane.add(connection)\n",
        "                del self.trailing[connection]\n",
        (f"{RECOVERY}::test_a_late_broadcast_of_a_replayed_message_is_not_sent_again",),
        "a recovered connection is never put back into live delivery",
    ),
    Mutant(
        "replay-paced-by-characters",
        "messaging/fanout.py",
        "size += len(text.encode())",
        "size += len(text)",
        (f"{RECOVERY}::test_a_replay_is_paced_by_bytes_whatever_characters_it_holds",),
        "replay pacing counts characters, not bytes (the bug the second audit found)",
    ),
    Mutant(
        "equal-version-stored-again",
        "contacts/services.py",
        "            if version >= Version.of_frame(newest[key]):",
        "            if version > Version.of_frame(newest[key]):",
        (f"{LWW}::test_a_write_received_again_changes_nothing_and_keeps_its_tombstones_age",),
        "a received write equal to the stored version is stored again (a resent snapshot restarts tombstone TTLs)",
    ),
    Mutant(
        "clock-observe-no-limit",
        "contacts/clock.py",
        "        if clock > self.limit:\n            raise ClockOutOfRange",
        "        if False:\n            raise ClockOutOfRange",
        (f"{LWW}::test_a_received_clock_past_the_limit_is_refused_and_the_frames_before_it_stand",),
        "the Lamport clock observes a received clock past its limit",
    ),
    Mutant(
        "peer-gate-admits-any-address",
        "contacts/peer_auth.py",
        "        if normalised(address) not in self.addresses:",
        "        if False:",
        ("tests/contacts/test_peer_auth.py::test_another_address_is_refused_whatever_it_sends",),
        "a server handshake is admitted from any address",
    ),
    Mutant(
        "replica-does-not-observe",
        "contacts/replica.py",
        "                observe(frame.clock)\n",
        "                pass\n",
        (f"{LWW}::test_a_received_clock_pulls_the_clock_forward_and_the_next_local_write_goes_past_it",),
        "Replica.observe no longer pulls the clock forward to a peer's clocks",
    ),
)


def copy_of_repository(into):
    """The files git knows (tracked, and untracked but not ignored), as they are in the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def run_tests(copy, tests):
    """pytest on `tests` in `copy`: its exit status and the last lines of its output."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    return result.returncode, "\n".join((result.stdout + result.stderr).strip().splitlines()[-3:])


def verdict(mutant, copy):
    """'caught', 'missed' or 'broken: why', for one mutant applied to `copy` (and undone after)."""
    path = copy / mutant.path
    original = path.read_text()
    found = original.count(mutant.old)
    if found != 1:
        return f"broken: its text is found {found} times in {mutant.path}; write the mutant again"
    path.write_text(original.replace(mutant.old, mutant.new))
    try:
        status, tail = run_tests(copy, mutant.tests)
    finally:
        path.write_text(original)
    if status == 1:
        return "caught"
    if status == 0:
        return "missed"
    return f"broken: pytest exited with {status}:\n{tail}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these mutants (default: all)")
    parser.add_argument("--list", action="store_true", help="name each mutant and the bug it makes, and stop")
    args = parser.parse_args()
    known = {mutant.name: mutant for mutant in MUTANTS}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"no mutant named {', '.join(unknown)}; see --list")
    chosen = [known[name] for name in args.names] or list(MUTANTS)
    if args.list:
        for mutant in chosen:
            print(f"{mutant.name:40} {mutant.path}: {mutant.bug}")
        return 0

    with tempfile.TemporaryDirectory(prefix="mutants-") as directory:
        copy = copy_of_repository(Path(directory))
        tests = sorted({test for mutant in chosen for test in mutant.tests})
        print(f"Unchanged copy: running the {len(tests)} tests the mutants name ...", flush=True)
        status, tail = run_tests(copy, tests)
        if status != 0:
            print(f"The tests fail without any mutant (pytest exited with {status}):\n{tail}")
            return 1
        results = []
        for mutant in chosen:
            began = time.monotonic()
            result = verdict(mutant, copy)
            results.append(result)
            print(f"{result.split(':')[0]:7} {mutant.name:40} {time.monotonic() - began:5.1f} s  {mutant.bug}")
            if result.startswith("broken"):
                print(f"        {result}")
    caught = results.count("caught")
    print(f"\n{caught} of {len(results)} caught", end="")
    missed = [mutant.name for mutant, result in zip(chosen, results, strict=True) if result == "missed"]
    print(f"; missed: {', '.join(missed)}" if missed else "")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
