"""Fixtures for the media tests: a synthetic clip, an encoded MP4 of it, and a small
threaded HTTP server on 127.0.0.1 whose routes misbehave in the ways fetch must handle."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from reelforge.media.encode import encode_mp4
from reelforge.task import Clip
from tests.support.loopback_http import QuietServer, serve

BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]  # fmt: skip
TONE_HZ = 440
PAYLOAD = bytes(range(256)) * 40  # 10240 bytes served by /ok


def colour_bars(frames: int, width: int, height: int) -> np.ndarray:
    """(frames, height, width, 3) uint8 colour bars that scroll one pixel per frame."""
    bars = np.zeros((height, width, 3), np.uint8)
    for i, colour in enumerate(BARS):
        bars[:, i * width // 8 : (i + 1) * width // 8] = colour
    return np.stack([np.roll(bars, t, axis=1) for t in range(frames)])


def tone(seconds: float, rate: int, channels: int = 2) -> np.ndarray:
    """A 440 Hz sine at half scale, float32 (channels, samples)."""
    t = np.arange(round(seconds * rate)) / rate
    wave = (0.5 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    return np.repeat(wave[None, :], channels, axis=0)


@pytest.fixture(scope="session")
def bars_clip() -> Clip:
    """121 frames (5 s + 1 at 24 fps) of 64x48 bars with a 440 Hz stereo tone at 16 kHz."""
    return Clip(colour_bars(121, 64, 48), 24.0, tone(121 / 24, 16_000), 16_000)


@pytest.fixture(scope="session")
def bars_mp4(bars_clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`bars_clip` encoded at 960x540 (done once: the slowest step of the suite)."""
    path = tmp_path_factory.mktemp("encoded") / "bars.mp4"
    encode_mp4(bars_clip, 960, 540, path)
    return path


# --- HTTP server ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path
        self.server.requests.append((path, self.headers.get("Host")))  # type: ignore[attr-defined]
        if path == "/ok":
            return self._send(200, PAYLOAD)
        if path == "/host":
            return self._send(200, (self.headers.get("Host") or "").encode())
        if m := re.fullmatch(r"/redirect/(\d+)", path):
            left = int(m.group(1))
            target = "/ok" if left <= 1 else f"/redirect/{left - 1}"
            return self._send(302, b"", {"Location": target})
        if path.startswith("/goto/"):
            return self._send(302, b"", {"Location": path[len("/goto/") :]})
        if m := re.fullmatch(r"/chunked/(\d+)", path):
            return self._chunked(int(m.group(1)), lie=False)
        if m := re.fullmatch(r"/liar/(\d+)", path):
            return self._chunked(int(m.group(1)), lie=True)
        if m := re.fullmatch(r"/big/(\d+)", path):
            return self._send(200, b"x" * int(m.group(1)))
        if path == "/slow":
            return self._slow()
        return self._send(404, b"not found")

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunked(self, size: int, *, lie: bool) -> None:
        """A chunked body of `size` bytes; with `lie`, also a Content-Length of 10."""
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        if lie:
            self.send_header("Content-Length", "10")
        self.send_header("Connection", "close")
        self.end_headers()
        block = b"y" * 65536
        try:
            for start in range(0, size, len(block)):
                piece = block[: min(len(block), size - start)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up once it had enough: expected
            pass
        self.close_connection = True

    def _slow(self) -> None:
        """Trickle one byte every 50 ms for up to 10 s (each read succeeds: only a total
        deadline stops this)."""
        self.send_response(200)
        self.send_header("Content-Length", "200")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b"z")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass


@pytest.fixture
def http_server() -> Iterator[QuietServer]:
    """A threaded HTTP server on 127.0.0.1; `.base` is its URL, `.requests` the log."""
    yield from serve(QuietServer(("127.0.0.1", 0), _Handler), "http")


class _Server6(QuietServer):
    address_family = socket.AF_INET6


@pytest.fixture
def http6_server() -> Iterator[QuietServer]:
    """Like `http_server`, on the IPv6 loopback [::1] (skipped where there is none)."""
    try:
        server = _Server6(("::1", 0), _Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    yield from serve(server, "http")


TLS_HOST = "media.example"


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(certificate, key) of a self-signed certificate for TLS_HOST, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    root = tmp_path_factory.mktemp("tls")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={TLS_HOST}",
         "-addext", f"subjectAltName=DNS:{TLS_HOST}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_server(tls_cert: tuple[Path, Path]) -> Iterator[QuietServer]:
    """Like `http_server`, over TLS with a certificate for TLS_HOST only (not 127.0.0.1)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_cert)
    server = QuietServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from serve(server, "https")
