"""Which IP addresses an input URL may reach: the explicit list of everything that is not
the public internet.

The list is spelled out (instead of trusting `ipaddress.is_global`, whose answers have
changed between Python releases) so that a reviewer can read exactly what is refused.
IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, NAT64) are judged by the IPv4
address inside them, because that is where a packet to them ends up.
"""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address

# (network, what to call it in an error message)
BLOCKED_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), name)
    for net, name in (
        ("0.0.0.0/8", "unspecified"),  # "this network"; 0.0.0.0 reaches localhost on Linux
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),  # includes cloud metadata 169.254.169.254
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),  # benchmarking
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes broadcast 255.255.255.255
    )
)

BLOCKED_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), name)
    for net, name in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "reserved"),  # deprecated IPv4-compatible addresses
        ("64:ff9b:1::/48", "reserved"),  # local-use NAT64
        ("100::/64", "reserved"),  # discard-only
        ("2001::/23", "reserved"),  # IETF protocol assignments, incl. Teredo 2001::/32
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved"),  # SRv6 SIDs
        ("fc00::/7", "private"),  # unique local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # deprecated site-local
        ("ff00::/8", "multicast"),
    )
)

_NAT64 = IPv6Network("64:ff9b::/96")

# Cloud metadata services: refused even when private addresses are allowed (a test
# server on a cloud VM must not hand out the VM's credentials).
METADATA: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("169.254.169.254/32"),  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
    IPv4Network("169.254.170.2/32"),  # AWS ECS task metadata
    IPv4Network("100.100.100.200/32"),  # Alibaba Cloud
    IPv6Network("fd00:ec2::254/128"),  # AWS over IPv6
)

Networks = tuple[IPv4Network | IPv6Network, ...]


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_kind(ip: IPAddress | str) -> str | None:
    """Why `ip` is not a public internet address ("loopback", "private", ...), or None
    when it is public. Accepts an address object or its text form."""
    if isinstance(ip, str):
        ip = ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    if isinstance(ip, IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return blocked_kind(inner)
        table: tuple[tuple[IPv4Network | IPv6Network, str], ...] = BLOCKED_V6
    else:
        table = BLOCKED_V4
    for network, kind in table:
        if ip in network:
            return kind
    return None


def describe_blocked(ip: IPAddress | str) -> str | None:
    """An error-message phrase such as "a private address 10.0.0.1" for a blocked
    address, None for a public one."""
    kind = blocked_kind(ip)
    if kind is None:
        return None
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind} address {ip}"


def _within(ip: IPAddress, networks: Networks) -> bool:
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, IPv6Address) and (inner := embedded_ipv4(ip)) is not None:
        candidates.append(inner)
    return any(c.version == n.version and c in n for c in candidates for n in networks)


def always_refused(ip: IPAddress | str, blocked_extra: Networks = ()) -> str | None:
    """Why `ip` is refused even when private addresses are allowed, or None.

    Cloud metadata addresses are always refused; so are `blocked_extra` networks (a seam
    for tests, which run their servers on loopback with private addresses allowed and
    still need to prove refusals). The rest of the policy of `reelforge.media.ingest`:
    every address `describe_blocked` names, unless REELFORGE_ALLOW_PRIVATE_URLS."""
    if isinstance(ip, str):
        ip = ip_address(ip.split("%", 1)[0])
    if _within(ip, METADATA):
        return f"a cloud metadata address {ip}"
    if _within(ip, blocked_extra):
        return describe_blocked(ip) or f"a blocked address {ip}"
    return None


MAX_LABEL = 63  # characters of one dot-separated label of a DNS name (RFC 1035)
MAX_NAME = 253  # characters of a whole DNS name


def host_name_problem(host: str) -> str | None:
    """Why `host` (ASCII, as in a URL) cannot be a DNS name, or None. A label of 300
    characters was accepted at submit, then crashed the resolver thread (IDNA refuses
    it) and failed as 'could not connect': such a URL is malformed, and says so at once."""
    name = host.rstrip(".")
    if len(name) > MAX_NAME:
        return f"host name is longer than {MAX_NAME} characters"
    if any(len(label) > MAX_LABEL for label in name.split(".")):
        return f"a part of the host name is longer than {MAX_LABEL} characters"
    if any(not label for label in name.split(".")):
        return f"host name {host[:80]!r} has an empty part"
    return None


def literal_ip(host: str) -> IPAddress | None:
    """The address a host name is when it is an IP literal, in any spelling inet_aton
    accepts (``127.1``, ``0x7f.0.0.1``, ``2130706433``), else None."""
    try:
        return ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host) and not host.endswith("."):
        try:
            return IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
