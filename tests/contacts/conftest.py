import contextlib
import itertools
import socket
import subprocess
import threading
import time

import pytest

from contacts import protocol
from contacts.client import ContactsClient
from contacts.protocol import Handshake
from tests.support import (
    ROOT,
    free_port,
    fresh_database_url,
    manage_command,
    output,
    scrape,
    server_env,
    spawn,
    stop_process,
    wait_for_port,
)

# Small intervals so heartbeats, silence and redials happen within a test's patience.
FAST = {
    "CONTACTS_HEARTBEAT_INTERVAL": 0.3,
    "CONTACTS_READ_TIMEOUT": 1.0,
    "CONTACTS_REDIAL_MIN": 0.05,
    "CONTACTS_REDIAL_MAX": 0.3,
}


def eventually(check, timeout=20.0, done=bool):
    """Poll `check` until `done` says its value will do, then return it; fail with its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still {value!r} after {timeout}s")
        time.sleep(0.05)


class ReplicaProcess:
    """`manage.py contact_replica` in a child process, restartable on the same port and name."""

    def __init__(self, env, name, peers=(), metrics=False):
        self.env, self.name, self.port = env, name, free_port()
        self.peers = list(peers)
        self.metrics_port = free_port() if metrics else None
        self.process = None

    def start(self, *options):
        # Fake peers in tests dial from 127.0.0.1; strangers are tested from 127.0.0.2.
        peers = [arg for port in self.peers for arg in ("--peer", f"127.0.0.1:{port}")] + ["--accept-peer", "127.0.0.1"]
        if self.metrics_port:
            peers += ["--metrics-listen", f"127.0.0.1:{self.metrics_port}"]
        self.process = spawn(self.command(*peers, *options), self.env)
        wait_for_port(self.port, process=self.process)
        if self.metrics_port:
            wait_for_port(self.metrics_port, process=self.process)
        return self

    def command(self, *options):
        return manage_command("contact_replica", "--name", self.name, "--listen", f"127.0.0.1:{self.port}", *options)

    def run_to_exit(self):
        """Start the replica expecting it to refuse: its exit code and output."""
        return self.run_to_exit_with()

    def run_to_exit_with(self, *options):
        command = self.command(*options)
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60)
        result.output = result.stdout + result.stderr
        return result

    def log(self):
        """Everything the replica has logged so far."""
        return output(self.process)

    def metrics(self):
        return scrape(f"http://127.0.0.1:{self.metrics_port}/metrics")

    def stop(self):
        if self.process and self.process.poll() is None:
            assert stop_process(self.process, 15) == 0, "a replica must stop cleanly on SIGTERM"

    def client(self, user):
        # A generous bound: on a loaded 2-core machine three replicas sharing one SQLite file
        # can keep a ListAll waiting for the write lock longer than the client's default 10 s.
        return ContactsClient("127.0.0.1", self.port, user, timeout=60)

    def list_all(self, user):
        with self.client(user) as client:
            return client.list_all()


class Cluster:
    """Replicas of one test on the suite's shared contacts database, with names of their own."""

    _tests = itertools.count()

    def __init__(self, env):
        self.env, self.prefix, self.replicas = env, f"t{next(self._tests)}", []

    def replica(self, peers=(), start=True, metrics=False, **settings):
        env = dict(self.env, **{key: str(value) for key, value in settings.items()})
        replica = ReplicaProcess(env, f"{self.prefix}-replica-{len(self.replicas) + 1}", peers, metrics)
        self.replicas.append(replica)
        return replica.start() if start else replica

    def mesh(self, size=3, **settings):
        """`size` replicas, each dialling all the others, as `make run` starts them."""
        replicas = [self.replica(start=False, **settings) for _ in range(size)]
        for replica in replicas:
            replica.peers = [other.port for other in replicas if other is not replica]
        return [replica.start() for replica in replicas]

    def converged(self, user, replicas=None):
        """The one list every replica holds for `user`, or None while they still differ."""
        views = [replica.list_all(user) for replica in replicas or self.replicas]
        return views[0] if all(view == views[0] for view in views) else None

    def agreed(self, user, timeout=20.0):
        """Wait until every replica holds the same list for `user`, and return it."""
        return eventually(lambda: self.converged(user), timeout, done=lambda view: view is not None)

    def stop(self):
        for replica in self.replicas:
            replica.stop()


@pytest.fixture(scope="session")
def contacts_env(tmp_path_factory):
    return server_env(fresh_database_url(tmp_path_factory.mktemp("contacts"), "contacts", migrated=True), **FAST)


@pytest.fixture
def cluster(contacts_env):
    cluster = Cluster(contacts_env)
    yield cluster
    cluster.stop()


class RawConnection:
    """A bare socket speaking bytes, for fake peers and misbehaving clients."""

    def __init__(self, port, hello=None, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        if hello is not None:
            self.sock.sendall(hello)

    @classmethod
    def peer(cls, port, name=b"fake-peer", proof=b""):
        connection = cls(port, Handshake(protocol.ROLE_SERVER, name, proof).encode())
        connection.replica_name = protocol.decode_name(connection.recv_exactly(protocol.NAME_WIDTH))
        return connection

    def recv_exactly(self, size):
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError(f"closed after {len(data)} of {size} bytes")
            data += chunk
        return data

    def read_server_frame(self):
        command = self.recv_exactly(1)[0]
        size = protocol.server_payload_size(command)
        return protocol.decode_server_frame(command, self.recv_exactly(size) if size else b"")

    def is_closed_by_server(self, timeout=10.0):
        """Whether the other side closes within `timeout`; whatever it sends meanwhile is skipped."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return False

    def close(self):
        self.sock.close()


class Proxy:
    """A TCP relay between two replicas that a test can cut and restore."""

    def __init__(self, target_port):
        self.target_port, self.cut_off = target_port, False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets, self.lock = [], threading.Lock()
        threading.Thread(target=self.accept_forever, daemon=True).start()

    def accept_forever(self):
        while True:
            try:
                inbound, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                inbound.close()
                continue
            try:
                outbound = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                inbound.close()
                continue
            with self.lock:
                self.sockets += [inbound, outbound]
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self.pipe, args=(source, sink), daemon=True).start()

    def pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self):
        self.cut_off = True
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def restore(self):
        self.cut_off = False

    def close(self):
        self.cut()
        self.listener.close()
