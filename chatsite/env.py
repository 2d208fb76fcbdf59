"""Typed readers for the environment; a bad value fails with the fix in the message."""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

from chatsite.core.origin import ANY, AllowedOrigin
from signaling.ice import check_ice_settings, check_ice_url

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None):
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Set the {name} environment variable.")
        return default
    return value


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def _number(name, default, kind):
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a {kind.__name__}: set a number such as {default!r}.")
    if number < 0:
        raise ImproperlyConfigured(f"{name}={value!r} must not be negative.")
    return number


def env_int(name, default):
    return _number(name, default, int)


def env_float(name, default):
    return _number(name, default, float)


def env_list(name, default):
    """A comma-separated list; blanks are dropped."""
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name, choices, default):
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value


def env_heartbeat(name, stale_name, stale_after):
    """A heartbeat interval, a third of its staleness window unless set; must be inside it."""
    interval = env_float(name, stale_after / 3)
    if not 0 < interval < stale_after:
        raise ImproperlyConfigured(
            f"{name} must be above 0 and below {stale_name}, or live holders would count as stale: "
            f"set it to about a third of {stale_name}."
        )
    return interval


def env_origins(name):
    """WebSocket origins (chatsite/core/origin.py), comma-separated; each is checked here, at start-up."""
    entries = env_list(name, [])
    for entry in entries:
        if entry == ANY:
            continue
        try:
            AllowedOrigin.parse(entry)
        except ValueError as error:
            raise ImproperlyConfigured(f"{name}: {error}.")
    return entries


def env_networks(name, default):
    """IP networks in CIDR notation, comma-separated (a bare address is a network of one)."""
    networks = []
    for entry in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not an IP network: write it like 10.0.0.0/8, 192.168.1.5 or fd00::/8."
            )
    return networks


def env_ice_urls(name):
    """STUN and TURN URLs, comma-separated; each is checked here (signaling/ice.py), at start-up."""
    try:
        return [check_ice_url(url) for url in env_list(name, [])]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}.")


def env_ice_settings_checked(*values):
    """The ICE settings taken together (signaling/ice.py), refused at start-up when no call could work."""
    try:
        check_ice_settings(*values)
    except ValueError as error:
        raise ImproperlyConfigured(f"{error}.")
