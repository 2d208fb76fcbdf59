"""Who may speak as a peer, as pure code: the address, and with a secret, a good, fresh, unused proof."""

import pytest

from contacts.peer_auth import PeerGate, PeerRefused, make_proof
from contacts.protocol import ROLE_SERVER, Handshake

SECRET = b"shared"


def gate(secret=SECRET):
    gate = PeerGate(secret, window=60)
    gate.addresses = {"10.0.0.2", "2001:db8::2"}
    return gate


def hello(proof=b"", name=b"contact-server-2"):
    return Handshake(ROLE_SERVER, name, proof)


def test_without_a_secret_a_configured_address_is_admitted_in_any_spelling():
    for address in ("10.0.0.2", "::ffff:10.0.0.2", "2001:db8:0::2"):
        gate(b"").admit(address, hello(), now=1000)


@pytest.mark.parametrize("address", ["10.0.0.3", "127.0.0.1", "not an address", ""])
def test_another_address_is_refused_whatever_it_sends(address):
    with pytest.raises(PeerRefused, match="not the address of a configured peer"):
        gate().admit(address, hello(make_proof(SECRET, b"contact-server-2", 1000)), now=1000)


def test_a_good_fresh_proof_is_admitted_once():
    proof, peers = make_proof(SECRET, b"contact-server-2", 1000), gate()
    peers.admit("10.0.0.2", hello(proof), now=1010)
    with pytest.raises(PeerRefused, match="used before"):
        peers.admit("10.0.0.2", hello(proof), now=1011)


def test_a_used_proof_is_forgotten_once_it_could_no_longer_be_fresh():
    peers = gate()
    peers.admit("10.0.0.2", hello(make_proof(SECRET, b"contact-server-2", 1000)), now=1000)
    peers.admit("10.0.0.2", hello(make_proof(SECRET, b"contact-server-2", 1100)), now=1100)
    assert len(peers.nonces) == 1


@pytest.mark.parametrize(
    ("proof", "reason"),
    [
        (b"", "no proof"),
        (b"v2.1000.00.00", "no proof"),
        (make_proof(b"other secret", b"contact-server-2", 1000), "does not match"),
        (make_proof(SECRET, b"contact-server-3", 1000), "does not match"),  # made for another name
        (make_proof(SECRET, b"contact-server-2", 1000 - 61), "not within"),
        (make_proof(SECRET, b"contact-server-2", 1000 + 61), "not within"),
    ],
)
def test_a_missing_forged_borrowed_or_stale_proof_is_refused(proof, reason):
    with pytest.raises(PeerRefused, match=reason):
        gate().admit("10.0.0.2", hello(proof), now=1000)


def test_a_proof_fits_beside_a_name_of_up_to_144_bytes():
    name = b"n" * 144
    assert Handshake(ROLE_SERVER, name, make_proof(SECRET, name, 2**31)).encode()
