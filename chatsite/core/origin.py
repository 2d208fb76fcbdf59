"""WebSocket Origin check (docs/protocols/websockets.md): browsers from origins that are not ours are refused.

The rules are pure code (settings validate `WS_ALLOWED_ORIGINS` with them at start-up);
`BrowserOriginValidator` applies them to every handshake.
"""

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

# An origin without a port is on its scheme's default port: `http://example.com:80` (as the
# ics script sends it) is the same origin as `http://example.com` (as browsers send it).
DEFAULT_PORTS = {"http": 80, "https": 443}
ANY = "*"


@dataclass(frozen=True, slots=True)
class AllowedOrigin:
    """One entry of WS_ALLOWED_ORIGINS: a scheme, a host (`*.` for any subdomain) and a port (None: any)."""

    scheme: str
    host: str
    port: int | None

    @classmethod
    def parse(cls, entry):
        """The rule an entry states, or ValueError saying how to write it."""
        wildcard_port = entry.endswith(":*")
        parts = split_origin(entry.removesuffix(":*") if wildcard_port else entry)
        if parts is None:
            raise ValueError(
                f"{entry!r} is not an origin: write scheme://host[:port], such as https://example.com, "
                "https://*.example.com or http://example.com:*"
            )
        scheme, host, port = parts
        if "*" in host.removeprefix("*."):
            raise ValueError(f"{entry!r}: '*' may only stand for a whole subdomain, as in https://*.example.com")
        return cls(scheme, host, None if wildcard_port else port)

    def admits(self, scheme, host, port):
        if scheme != self.scheme or (self.port is not None and port != self.port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


def split_origin(origin):
    """(scheme, host, port) of an origin as browsers send it, or None for anything else.

    Nothing but scheme://host[:port] is an origin: a path, query, user or password (the
    lookalike `http://127.0.0.1@evil.example`) makes it something else.
    """
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    if parts.path or parts.query or parts.fragment or origin.endswith(("?", "#")):
        return None
    return scheme, host, DEFAULT_PORTS[scheme] if port is None else port


@lru_cache(maxsize=8)
def allowed_origins(entries):
    """The parsed WS_ALLOWED_ORIGINS (a tuple of entries), or None for a lone `*` (any origin)."""
    if ANY in entries:
        return None
    return tuple(AllowedOrigin.parse(entry) for entry in entries)


def same_origin(origin, host, allowed_hosts):
    """Whether `origin` is this server's own: the `Host` the handshake came to, one of ALLOWED_HOSTS.

    A browser's page on another site cannot send another site's Host, and ALLOWED_HOSTS keeps
    out a DNS-rebinding name that points at this server.
    """
    if not host or split_origin(origin) is None:
        return False
    domain, _port = split_domain_port(host)
    return urlsplit(origin).netloc.lower() == host.lower() and bool(domain) and validate_host(domain, allowed_hosts)


def origin_allowed(origin, entries, allowed_hosts, host=None):
    """Whether a handshake with this Origin (a str, or None when absent) may go on.

    Without WS_ALLOWED_ORIGINS entries, the rule is the ALLOWED_HOSTS one: the host must be
    one Django serves, on any port and any scheme. With entries, the project's own pages (an
    Origin equal to the handshake's `Host`) stay allowed too, so listing another site never
    locks out this one.
    """
    if origin is None:
        # Only browsers send Origin, and only a browser can be tricked into lending its cookies.
        return True
    if entries:
        if same_origin(origin, host, allowed_hosts):
            return True
        rules = allowed_origins(tuple(entries))
        if rules is None:
            return True
        parts = split_origin(origin)
        return parts is not None and any(rule.admits(*parts) for rule in rules)
    domain, _port = split_domain_port(urlsplit(origin).netloc)
    return bool(domain) and any(pattern == ANY or is_same_domain(domain, pattern) for pattern in allowed_hosts)


class BrowserOriginValidator:
    """Refuse a WebSocket handshake whose Origin is not allowed (403), before anything runs.

    Unlike Channels' AllowedHostsOriginValidator, a handshake without Origin is allowed
    (non-browser clients send none), and `Origin: null` (sandboxed pages, file://) is
    refused unless WS_ALLOWED_ORIGINS is a lone `*`.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        headers = dict(scope["headers"]) if scope["type"] == "websocket" else None
        if headers is not None and not self.allows(headers.get(b"origin"), headers.get(b"host")):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)

    @staticmethod
    def allows(origin, host=None):
        return page_origin_allowed(
            None if origin is None else origin.decode("latin1"), None if host is None else host.decode("latin1")
        )


def page_origin_allowed(origin, host=None):
    """Whether a browser page of this Origin (None when absent) may use the site (on `host`): the settings' rule."""
    allowed_hosts = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    return origin_allowed(origin, settings.WS_ALLOWED_ORIGINS, allowed_hosts, host)


# Fetch metadata of a request that a page of another site made the browser send.
OTHER_SITE = {"cross-site", "same-site"}


def foreign_page(meta):
    """Why an HTTP request (its `request.META`) comes from a page that is not ours, or None.

    The same rule as for WebSocket handshakes, for the endpoints that change state without
    a CSRF token (`/v1/register`, the kick): a hostile page can make a browser send a form
    there, with the browser's cookies. Browsers say where a request comes from in `Origin`
    (and in `Sec-Fetch-Site` where they leave `Origin` out); curl and other programs send
    neither, and are served as before.
    """
    origin = meta.get("HTTP_ORIGIN")
    if origin is not None:
        allowed = page_origin_allowed(origin, meta.get("HTTP_HOST"))
        return None if allowed else f"requests from pages of {origin} are refused"
    if meta.get("HTTP_SEC_FETCH_SITE") in OTHER_SITE:
        return "requests from pages of another site are refused"
    return None
