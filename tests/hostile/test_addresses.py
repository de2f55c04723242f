"""The address list, table-driven: every form an attacker can spell an internal address
in, judged the same by the submit check (literal hosts) and the fetcher (resolved
addresses), with and without REELFORGE_ALLOW_PRIVATE_URLS."""

from __future__ import annotations

import time

import httpx
import pytest

from reelforge.media.addresses import always_refused, blocked_kind
from reelforge.media.ingest import check_url
from reelforge.media.pinning import FetchRefused, Pins

# (address, kind or None when public, refused even when private addresses are allowed)
TABLE = [
    # IPv4
    ("0.0.0.0", "unspecified", False), ("0.1.2.3", "unspecified", False),
    ("10.0.0.1", "private", False), ("172.31.255.255", "private", False),
    ("192.168.255.1", "private", False), ("127.0.0.1", "loopback", False),
    ("127.8.9.10", "loopback", False), ("169.254.1.1", "link-local", False),
    ("169.254.169.254", "link-local", True), ("169.254.170.2", "link-local", True),
    ("100.64.0.0", "shared (CGNAT)", False), ("100.100.100.200", "shared (CGNAT)", True),
    ("100.127.255.255", "shared (CGNAT)", False), ("224.0.0.251", "multicast", False),
    ("239.1.1.1", "multicast", False), ("240.0.0.1", "reserved", False),
    ("255.255.255.255", "reserved", False), ("192.0.0.8", "reserved", False),
    ("198.19.1.1", "reserved", False), ("203.0.113.5", "documentation", False),
    # IPv6
    ("::", "unspecified", False), ("::1", "loopback", False), ("fe80::1", "link-local", False),
    ("fd00::1", "private", False), ("fd00:ec2::254", "private", True),
    ("fec0::1", "private", False), ("ff02::fb", "multicast", False),
    ("2001:db8::1", "documentation", False), ("100::1", "reserved", False),
    ("2001:0::1", "reserved", False),  # Teredo
    ("64:ff9b:1::1", "reserved", False),  # local-use NAT64
    # IPv4 inside IPv6: judged by the IPv4 address
    ("::ffff:127.0.0.1", "loopback", False), ("::ffff:169.254.169.254", "link-local", True),
    ("::ffff:100.64.1.1", "shared (CGNAT)", False), ("::ffff:0.0.0.0", "unspecified", False),
    ("::ffff:224.0.0.1", "multicast", False),
    ("2002:7f00:0001::", "loopback", False), ("2002:0a00:0001::1", "private", False),
    ("2002:a9fe:a9fe::", "link-local", True), ("2002:6440:0001::", "shared (CGNAT)", False),
    ("64:ff9b::127.0.0.1", "loopback", False), ("64:ff9b::10.0.0.1", "private", False),
    ("64:ff9b::169.254.169.254", "link-local", True),
    ("64:ff9b::100.64.0.1", "shared (CGNAT)", False),
    ("64:ff9b::0.0.0.0", "unspecified", False), ("64:ff9b::e000:1", "multicast", False),
    ("::127.0.0.1", "reserved", False),  # deprecated IPv4-compatible
    # public
    ("8.8.8.8", None, False), ("100.63.255.255", None, False), ("100.128.0.0", None, False),
    ("172.32.0.1", None, False), ("223.255.255.255", None, False),
    ("2606:4700:4700::1111", None, False), ("::ffff:1.1.1.1", None, False),
    ("2002:0808:0808::", None, False), ("64:ff9b::8.8.8.8", None, False),
]  # fmt: skip


@pytest.mark.parametrize(("address", "kind", "always"), TABLE)
def test_address_table(address: str, kind: str | None, always: bool) -> None:
    assert blocked_kind(address) == kind
    assert (always_refused(address) is not None) == always


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize(("address", "kind", "always"), TABLE)
def test_submit_check_and_fetcher_agree(address: str, kind: str | None, always: bool) -> None:
    url = f"http://{_host(address)}/a.png"
    for allow_private in (False, True):
        refused = kind is not None and (not allow_private or always)
        try:
            check_url(url, max_bytes=1000, allow_private=allow_private)
            submit_refused = False
        except ValueError:
            submit_refused = True
        pins = Pins(allow_private, time.monotonic() + 5, resolver=lambda *_: [address])
        try:
            pins.pin(httpx.URL("http://resolved.example/"))
            fetch_refused = False
        except FetchRefused:
            fetch_refused = True
        assert (submit_refused, fetch_refused) == (refused, refused), (address, allow_private)


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f.0.0.1", "127.1", "0177.0.0.1", "0", "[::ffff:7f00:1]"]
)
def test_odd_spellings_of_loopback_are_refused_at_submit(host: str) -> None:
    with pytest.raises(ValueError, match="URL points to|malformed"):
        check_url(f"http://{host}/", max_bytes=1000, allow_private=False)
