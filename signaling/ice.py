"""ICE servers for the meeting page, and TURN credentials in coturn's REST API scheme (pure, no I/O).

coturn started with `use-auth-secret` accepts the username `<expiry>:<name>` with the
password base64(HMAC-SHA1(secret, username)) as long as `expiry` (Unix time) has not
passed. The web server and the relay share only the secret; a browser gets a credential
that names its user and stops working by itself, so nothing has to be revoked.
"""

import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass

# RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:, with ?transport=udp|tcp).
ICE_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>\[[^\]]*\]|[^:?\[\]]+)(?::(?P<port>[0-9]{1,5}))?(?:\?(?P<query>.*))?",
    re.ASCII,
)
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"(?=.{{1,253}}$){LABEL}(\.{LABEL})*\.?", re.ASCII)
TRANSPORTS = ("transport=udp", "transport=tcp")
TRANSPORT_POLICIES = ("all", "relay")
# Every registered user gets credentials, that is HMACs of known text under the secret, and
# can try secrets offline at leisure: a short one would let them mint credentials for good.
TURN_SECRET_MIN_LENGTH = 32


def check_ice_url(url):
    """The URL unchanged if a browser's RTCPeerConnection takes it; ValueError saying the fix if not.

    Checked at start-up, because one URL a browser refuses makes `new RTCPeerConnection`
    throw, and then no call starts at all.
    """
    match = ICE_URL.fullmatch(url)
    if not match:
        raise ValueError(
            f"{url!r} is not a STUN or TURN URL: write stun:HOST[:PORT] or turn:HOST[:PORT][?transport=udp]"
        )
    host, port, query = match["host"], match["port"], match["query"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{url!r}: {host} is not an IPv6 address in brackets") from None
    elif not HOST_NAME.fullmatch(host):
        raise ValueError(f"{url!r}: {host!r} is not a host name or an IPv4 address")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"{url!r}: the port must be 1-65535")
    if query is not None and (not is_turn(url) or query not in TRANSPORTS):
        raise ValueError(f"{url!r}: only turn: and turns: URLs take a query, and only ?transport=udp or ?transport=tcp")
    return url


def is_turn(url):
    return url.startswith(("turn:", "turns:"))


def turn_credential(secret, name, expires):
    """The (username, credential) pair coturn's `use-auth-secret` accepts for `name` until `expires`."""
    username = f"{expires}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def check_ice_settings(urls, turn_secret, credential_ttl, transport_policy):
    """ValueError saying the fix when the settings together cannot give a working call."""
    has_turn = any(is_turn(url) for url in urls)
    if has_turn and not turn_secret:
        raise ValueError(
            "SIGNALING_ICE_SERVERS lists a TURN server but SIGNALING_TURN_SECRET is empty: "
            "set it to the relay's static-auth-secret (coturn's use-auth-secret)"
        )
    if turn_secret and not has_turn:
        raise ValueError(
            "SIGNALING_TURN_SECRET is set but SIGNALING_ICE_SERVERS lists no turn: or turns: URL to use it"
        )
    if turn_secret and len(turn_secret) < TURN_SECRET_MIN_LENGTH:
        raise ValueError(
            f"SIGNALING_TURN_SECRET must be at least {TURN_SECRET_MIN_LENGTH} characters, "
            "or users could guess it from their credentials: make one with `openssl rand -hex 32`"
        )
    if credential_ttl < 1:
        raise ValueError("SIGNALING_TURN_CREDENTIAL_TTL must be at least 1 second: credentials would expire as issued")
    if transport_policy not in TRANSPORT_POLICIES:
        raise ValueError(f"SIGNALING_ICE_TRANSPORT_POLICY must be one of {', '.join(TRANSPORT_POLICIES)}")
    if transport_policy == "relay" and not has_turn:
        raise ValueError(
            "SIGNALING_ICE_TRANSPORT_POLICY=relay needs a turn: or turns: URL in SIGNALING_ICE_SERVERS: "
            "without a relay no call can connect"
        )


@dataclass(frozen=True)
class IceSettings:
    urls: tuple  # checked by check_ice_url
    turn_secret: str
    credential_ttl: int  # seconds
    transport_policy: str  # one of TRANSPORT_POLICIES

    def configuration(self, name, now):
        """The RTCConfiguration fields for user `name` at Unix time `now`; TURN URLs carry a fresh credential."""
        stun = [url for url in self.urls if not is_turn(url)]
        turn = [url for url in self.urls if is_turn(url)]
        servers = [{"urls": stun}] if stun else []
        expires = None
        if turn:
            expires = int(now) + self.credential_ttl
            username, credential = turn_credential(self.turn_secret, name, expires)
            servers.append({"urls": turn, "username": username, "credential": credential})
        return {"iceServers": servers, "iceTransportPolicy": self.transport_policy, "expires": expires}
