"""A replica in this process, for tests that make its database fail or stall; real sockets all the same."""

import asyncio
import contextlib
import socket
import threading
from contextlib import contextmanager

from contacts.config import ReplicaConfig
from contacts.protocol import HeartBeat
from contacts.server import ReplicaServer
from tests.contacts.conftest import RawConnection


@contextmanager
def replica_in_thread(name, **config):
    """A ReplicaServer on 127.0.0.1 with its event loop on a thread, `config` (ReplicaConfig's fields) over
    the settings'; yields it once it listens."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    config = ReplicaConfig.from_settings(**config)
    server = ReplicaServer(name, ("127.0.0.1", 0), accept_peers=["127.0.0.1"], config=config)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class FakePeer:
    """A peer that records every frame the replica sends it, answering heartbeats to stay linked."""

    def __init__(self, port):
        self.connection = RawConnection.peer(port)
        self.frames, self.arrived = [], threading.Condition()
        self.thread = threading.Thread(target=self.read_forever, daemon=True)
        self.thread.start()

    def read_forever(self):
        try:
            while True:
                frame = self.connection.read_server_frame()
                with self.arrived:
                    self.frames.append(frame)
                    self.arrived.notify_all()
                if isinstance(frame, HeartBeat):
                    self.connection.sock.sendall(HeartBeat(0).encode())
        except OSError:
            pass

    def received(self, wanted, timeout=20.0):
        """Whether a frame for which `wanted(frame)` holds arrives within `timeout` (a bound on a broken replica)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: any(wanted(frame) for frame in self.frames), timeout)

    def heartbeat_clocks(self):
        return [frame.clock for frame in self.frames if isinstance(frame, HeartBeat)]

    def close(self):
        with contextlib.suppress(OSError):
            self.connection.sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
        self.connection.close()
        self.thread.join(timeout=10)
