"""Connections that go only where they were checked to go (used by `ingest.fetch`).

`Pins` resolves each host once per fetch and checks every address; `PinnedBackend` is an
httpcore network backend that dials those addresses and nothing else, whatever DNS says
later; `DeadlineStream` makes every socket operation end by the fetch's deadline.
httpcore keeps using the URL's host name for SNI and certificate checks.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from ipaddress import ip_address

import httpcore
import httpx

from reelforge.media.addresses import (
    IPAddress,
    Networks,
    always_refused,
    describe_blocked,
    literal_ip,
)

# resolver(host, port, timeout seconds) -> the host's addresses (see `resolve`)
Resolver = Callable[[str, int, float], Sequence[IPAddress]]


class FetchRefused(Exception):
    """A fetch problem; its message completes "could not fetch <url>: ..."."""


class AddressRefused(FetchRefused):
    """The host resolves to an address this server never connects to: asking again
    later gets the same answer (while DNS says the same)."""


class Pins:
    """Host name -> the checked addresses connections to it may use (one fetch)."""

    def __init__(
        self,
        allow_private: bool,
        deadline: float,
        *,
        blocked_extra: Networks = (),
        resolver: Resolver | None = None,
    ):
        self.allow_private = allow_private
        self.blocked_extra = blocked_extra
        self._deadline = deadline
        self._resolver = resolver
        self._hosts: dict[str, list[IPAddress]] = {}

    def pin(self, url: httpx.URL) -> None:
        host = url.raw_host.decode("ascii")
        if host in self._hosts:
            return  # resolved once per fetch: later hops reuse the same answer
        port = url.port or (443 if url.scheme == "https" else 80)
        lookup = self._resolver or resolve  # looked up now: tests may replace `resolve`
        found = lookup(host, port, self._deadline - time.monotonic())
        addresses = list(dict.fromkeys(ip_address(str(ip)) for ip in found))
        if not addresses:
            raise FetchRefused(f"could not resolve host {host}")
        for ip in addresses:  # one bad address refuses the host: no "try the good one"
            reason = None if self.allow_private else describe_blocked(ip)
            reason = reason or always_refused(ip, self.blocked_extra)
            if reason:
                literal = literal_ip(host) is not None
                what = "the URL points to" if literal else f"{host} resolves to"
                raise AddressRefused(f"{what} {reason}")
        self._hosts[host] = addresses

    def addresses(self, host: str) -> list[IPAddress]:
        try:
            return self._hosts[host]
        except KeyError:  # httpcore asked for a host we never checked: refuse
            raise FetchRefused(f"refusing to connect to unchecked host {host}") from None


def resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    """All addresses of `host`, in resolver order, within `timeout` seconds.

    getaddrinfo has no timeout of its own, so it runs in a daemon thread we stop
    waiting for (it finishes on its own and is discarded)."""
    result: list = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            result.append(exc)

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(max(0.0, timeout))
    if not result:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out")
    if isinstance(result[0], OSError):
        raise FetchRefused(f"could not resolve host {host}: {result[0].strerror or result[0]}")
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in result[0]:
        seen.setdefault(ip_address(sockaddr[0].split("%", 1)[0]), None)
    if not seen:
        raise FetchRefused(f"could not resolve host {host}")
    return list(seen)


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore network backend that dials only pinned addresses, under a deadline."""

    def __init__(self, pins: Pins, deadline: float):
        self._pins = pins
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error: Exception | None = None
        for ip in self._pins.addresses(host):
            try:
                stream = self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=_clamp(timeout, self._deadline),
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return DeadlineStream(stream, self._deadline)
            except httpcore.ConnectError as exc:  # try the host's next address
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not allowed")


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float):
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, self._deadline))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, self._deadline))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, self._deadline))
        return DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def _clamp(timeout: float | None, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("deadline passed")
    return left if timeout is None else min(timeout, left)
