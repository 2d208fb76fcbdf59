import asyncio
import errno
import gc
import signal

import uvloop
from django.core.management.base import BaseCommand, CommandError

from contacts import services
from contacts.config import ReplicaConfig
from contacts.metrics import serve_metrics
from contacts.protocol import ProtocolError
from contacts.server import ReplicaServer, parse_address
from contacts.services import ClockPastLimit, StaleReplica, empty_replica


class Command(BaseCommand):
    help = "Run a contacts replica (docs/protocols/contacts.md): a TCP server for clients and peer replicas."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="This replica's name, distinct from its peers'.")
        parser.add_argument("--listen", required=True, help="HOST:PORT to serve clients and peers on.")
        parser.add_argument("--peer", action="append", default=[], help="HOST:PORT of a peer; repeat for each.")
        parser.add_argument(
            "--accept-peer",
            action="append",
            default=[],
            help="HOST of a replica that dials this one without being dialled back; repeat for each. "
            "Server handshakes from any other host than these and the --peer hosts are refused.",
        )
        parser.add_argument(
            "--metrics-listen", help="HOST:PORT to serve Prometheus metrics on (GET /metrics); off unless given."
        )
        parser.add_argument(
            "--rejoin-empty",
            action="store_true",
            help="Drop this replica's contacts and tombstones first, to catch up from its peers "
            "(needed after an absence longer than CONTACTS_TOMBSTONE_TTL).",
        )
        parser.add_argument(
            "--reset-clock",
            action="store_true",
            help="First bring a clock past the limit back under it, re-stamping the writes past it "
            "(needed when the replica refuses to start, saying so).",
        )

    def handle(self, *args, name, listen, peer, accept_peer, metrics_listen, rejoin_empty, reset_clock, **options):
        try:
            listen, peers = parse_address(listen), [parse_address(address) for address in peer]
            metrics_address = parse_address(metrics_listen) if metrics_listen else None
        except ValueError as error:
            raise CommandError(f"{error}: write addresses like 127.0.0.1:9000 or contact-server-2:9001.")
        config = ReplicaConfig.from_settings()
        try:
            server = ReplicaServer(name, listen, peers, accept_peers=accept_peer, config=config)
        except ProtocolError as error:
            raise CommandError(f"--name {name!r} cannot be sent in a handshake: {error}.")
        if rejoin_empty:
            empty_replica(name)
        if reset_clock:
            restamped, clock = services.reset_clock(name, config.clock_lease)
            self.stdout.write(f"Clock of {name} reset to {clock}; {restamped} writes past the limit re-stamped.")
        # Everything loaded by now lives as long as the process: take it out of the cyclic
        # collector's full passes. Each write allocates a few objects that wait in the queue,
        # so full passes come often, and each walked all of Django: a large share of the
        # event loop's CPU per write (bench/README.md, "Contacts").
        gc.freeze()
        try:
            # uvloop, as the web process runs: its loop costs less per wake-up and per read.
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self.serve(server, metrics_address))
        except (StaleReplica, ClockPastLimit) as error:
            raise CommandError(str(error))
        self.stdout.write(f"Stopped {name}.")

    async def serve(self, server, metrics_address):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        # Both ports are bound before the replica opens its row, so a port in use leaves no trace.
        metrics = None
        if metrics_address:
            try:
                metrics = serve_metrics(server, *metrics_address)
            except OSError as error:
                raise CommandError(port_refused("--metrics-listen", metrics_address, error))
        try:
            await server.start()
        except OSError as error:
            if metrics is not None:
                metrics.shutdown()
            raise CommandError(port_refused("--listen", server.listen, error))
        self.stdout.write(f"Replica {server.name} listening on {server.listen[0]}:{server.listen[1]}.")
        if metrics_address:
            self.stdout.write(f"Metrics of {server.name} at http://{metrics_address[0]}:{metrics_address[1]}/metrics.")
        await stop.wait()
        if metrics is not None:
            metrics.shutdown()
        await server.stop()


def port_refused(option, address, error):
    """The CommandError text for an address the replica cannot listen on."""
    host, port = address[:2]
    if error.errno == errno.EADDRINUSE:
        return (
            f"Cannot listen on {host}:{port} ({option}): the port is in use, by another replica or by `make run`. "
            f"Stop that, or pick another port."
        )
    return f"Cannot listen on {host}:{port} ({option}): {error.strerror or error}."
