"""Client addresses against allow-lists of IP networks (METRICS_ALLOWED_NETS, a replica's peers)."""

import ipaddress


def client_ip(address):
    """`address` as an IP address, IPv4-mapped IPv6 (`::ffff:10.1.2.3`) as IPv4; None if it is not one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def is_in_networks(address, networks):
    """Whether a client at `address` is inside one of `networks`; an address that is not an IP is not."""
    ip = client_ip(address)
    return ip is not None and any(ip in network for network in networks)
