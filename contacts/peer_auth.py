"""Who may speak to a replica as a peer: its configured peers' addresses, and, with a shared secret, a proof.

A server handshake is the only way to send clocks and replicated writes, so it is
accepted only from an address that a configured peer's host resolves to (`--peer`,
`--accept-peer`). Where the network is not trusted, `CONTACTS_PEER_SECRET` adds a proof:
the dialling replica puts `v1.<unix time>.<nonce>.<HMAC-SHA256>` in its handshake's name
field, after the name's NUL, where every reader of the field stops, so a Go replica
dialled by us reads our name and ignores the rest. The listener checks the HMAC, that the
time is within `CONTACTS_PEER_PROOF_WINDOW` of its own, and that the nonce was not used
before within that window (a replayed handshake is refused). The proof only admits the
link: the protocol has no encryption or per-frame integrity, which a VPN or TLS tunnel
between replicas provides (docs/operations.md).

Pure code, no I/O: the server resolves addresses and reads the clock.
"""

import hashlib
import hmac
import os

from chatsite.core.networks import client_ip
from contacts.protocol import ProtocolError

PROOF_VERSION = b"v1"
NONCE_BYTES = 16


class PeerRefused(ProtocolError):
    """A server handshake from something that is not one of this replica's peers."""


def normalised(address):
    """An IP address as text, IPv4-mapped IPv6 as IPv4, so one host has one spelling; None if it is not one."""
    ip = client_ip(address)
    return None if ip is None else str(ip)


def make_proof(secret, name, now, nonce=None):
    """The proof a dialling replica called `name` sends with its handshake at unix time `now`."""
    stamp = str(int(now)).encode()
    nonce = (nonce or os.urandom(NONCE_BYTES)).hex().encode()
    return b".".join([PROOF_VERSION, stamp, nonce, _mac(secret, name, stamp, nonce)])


def _mac(secret, name, stamp, nonce):
    message = b"|".join([b"contacts-peer", PROOF_VERSION, name, stamp, nonce])
    return hmac.new(secret, message, hashlib.sha256).hexdigest().encode()


class PeerGate:
    """Admits server handshakes from configured peer addresses, with a valid fresh proof when a secret is set."""

    def __init__(self, secret=b"", window=120.0):
        self.secret, self.window = secret, window
        self.addresses = set()  # normalised IPs of the configured peers' hosts, kept up to date by the server
        self.nonces = {}  # nonce → when it stops being fresh

    def admit(self, address, hello, now):
        """Raise PeerRefused unless a server handshake `hello` from `address` at `now` comes from a peer."""
        who = f"server handshake from {address} as {hello.name[:64].decode(errors='replace')!r}"
        if normalised(address) not in self.addresses:
            raise PeerRefused(f"{who} refused: not the address of a configured peer (--peer, --accept-peer)")
        if self.secret:
            self.check_proof(hello, now, who)

    def check_proof(self, hello, now, who):
        parts = hello.proof.split(b".")
        if len(parts) != 4 or parts[0] != PROOF_VERSION:
            raise PeerRefused(f"{who} refused: no proof of CONTACTS_PEER_SECRET")
        _, stamp, nonce, mac = parts
        if not hmac.compare_digest(mac, _mac(self.secret, hello.name, stamp, nonce)):
            raise PeerRefused(f"{who} refused: its proof does not match CONTACTS_PEER_SECRET")
        if not stamp.isdigit() or abs(now - int(stamp)) > self.window:
            raise PeerRefused(f"{who} refused: its proof is not within {self.window:g} s of this replica's time")
        self.nonces = {seen: until for seen, until in self.nonces.items() if until > now}
        if nonce in self.nonces:
            raise PeerRefused(f"{who} refused: its proof was used before (a replayed handshake)")
        self.nonces[nonce] = now + self.window
