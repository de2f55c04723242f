"""A small hostile internet on loopback, for the hostile-input tests.

  * `public`: a server on 127.0.0.3 that stands in for a host on the internet, with
    routes that misbehave (redirects to internal addresses, drips, lies about lengths,
    serves playlists, bombs and garbage);
  * `internal`: a server on 127.0.0.1 that stands in for what an attacker wants to reach
    (a database, an admin port): its request log must stay empty.

The tests run the fetcher with private addresses ALLOWED (so that 127.0.0.3 is
reachable) plus `BLOCKLIST`: every network the production list refuses except 127/8,
and the internal server's own 127.0.0.1. So a refusal here is the same refusal a
production fetch makes, and anything that slipped through would show in the internal
server's log. `hostile_fetch` also replaces DNS with `resolver`, so that no name is ever
looked up for real and nothing but loopback is ever contacted.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path

import pytest

from reelforge.media import addresses, ingest
from reelforge.media.pinning import FetchRefused
from tests.support.loopback_http import QuietServer, serve

PUBLIC_IP = "127.0.0.3"  # plays a public address
INTERNAL_IP = "127.0.0.1"  # plays an internal service; blocked

BLOCKLIST: tuple[IPv4Network | IPv6Network, ...] = (
    *(net for net, _ in addresses.BLOCKED_V4 if net != IPv4Network("127.0.0.0/8")),
    *(net for net, _ in addresses.BLOCKED_V6),
    IPv4Network(f"{INTERNAL_IP}/32"),
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        server = self.server
        server.requests.append(self.path)  # type: ignore[attr-defined]
        path = self.path
        if path in server.files:  # type: ignore[attr-defined]
            return self._send(200, server.files[path])  # type: ignore[attr-defined]
        if path.startswith("/goto/"):
            return self._send(302, b"", {"Location": path[len("/goto/") :]})
        if m := re.fullmatch(r"/redirect/(\d+)", path):
            left = int(m.group(1))
            target = "/ok" if left <= 1 else f"/redirect/{left - 1}"
            return self._send(302, b"", {"Location": target})
        if path == "/ok":
            return self._send(200, b"public bytes")
        if path == "/drip":  # one byte per second, each read succeeds
            return self._drip()
        if path == "/stall":  # headers, then silence
            self._head(200, {"Content-Length": "100"})
            time.sleep(3)
            return None
        if m := re.fullmatch(r"/big/(\d+)", path):
            return self._send(200, b"x" * int(m.group(1)))
        if m := re.fullmatch(r"/claims-small/(\d+)", path):  # Content-Length: 10, then more
            return self._chunked(int(m.group(1)), claimed="10")
        if m := re.fullmatch(r"/claims-big/(\d+)", path):  # Content-Length > what comes
            self._head(200, {"Content-Length": m.group(1), "Connection": "close"})
            self.wfile.write(b"z" * 10)
            self.close_connection = True
            return None
        return self._send(404, b"not found")

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._head(status, {**(headers or {}), "Content-Length": str(len(body))})
        self.wfile.write(body)

    def _drip(self) -> None:
        self._head(200, {"Content-Length": "100"})
        try:
            for _ in range(100):
                self.wfile.write(b"z")
                self.wfile.flush()
                time.sleep(1.0)
        except OSError:
            pass

    def _chunked(self, size: int, *, claimed: str) -> None:
        self._head(200, {"Transfer-Encoding": "chunked", "Content-Length": claimed,
                         "Connection": "close"})  # fmt: skip
        block = b"y" * 65536
        try:
            for start in range(0, size, len(block)):
                piece = block[: min(len(block), size - start)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True


def _serve(ip: str) -> Iterator[QuietServer]:
    server = QuietServer((ip, 0), _Handler)
    server.files = {}  # type: ignore[attr-defined]
    yield from serve(server)


@pytest.fixture
def public() -> Iterator[QuietServer]:
    try:
        yield from _serve(PUBLIC_IP)
    except OSError:
        pytest.skip(f"cannot listen on {PUBLIC_IP}")


@pytest.fixture
def internal() -> Iterator[QuietServer]:
    yield from _serve(INTERNAL_IP)


class FakeDns:
    """Names -> lists of answers; each lookup of a name pops its next answer (so a
    second lookup would see another address: DNS rebinding). IP literals resolve to
    themselves; any other name does not resolve. Records every lookup."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, timeout: float) -> list:
        self.lookups.append(host)
        try:
            return [ip_address(host.strip("[]"))]
        except ValueError:
            pass
        if not self.answers.get(host):
            raise FetchRefused(f"could not resolve host {host}")
        return [ip_address(a) for a in self.answers[host].pop(0)]


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns()


@pytest.fixture
def hostile_fetch(monkeypatch: pytest.MonkeyPatch, dns: FakeDns) -> FakeDns:
    """Every `ingest.fetch` (also the worker's) uses BLOCKLIST and the fake DNS."""
    real = ingest.fetch
    monkeypatch.setattr(
        ingest, "fetch", functools.partial(real, blocked_extra=BLOCKLIST, resolver=dns)
    )
    return dns


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """name -> bytes of the hostile media files (made once)."""
    from tests.hostile.media import make_hostile_files

    return make_hostile_files(Path(tmp_path_factory.mktemp("hostile")))
