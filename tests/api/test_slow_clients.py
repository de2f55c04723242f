"""Slow clients against a real server: a connection that trickles its request head (a
slowloris) is closed once REELFORGE_HTTP_HEADER_TIMEOUT_SECONDS have passed, on a fresh
connection and on a kept-alive one; one that trickles its body once
REELFORGE_HTTP_BODY_TIMEOUT_SECONDS have; an idle kept-alive connection after
REELFORGE_HTTP_KEEPALIVE_SECONDS; and a body the server answered without reading (a 401)
ends the connection instead of being read to its end."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from reelforge.api.server import uvicorn_options
from reelforge.settings import Settings
from tests.support.server import FAKE_ENGINE, ServerProcess

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 3.0
KEEPALIVE = 2


@pytest.fixture(scope="module")
def server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(
        tmp_path_factory.mktemp("slow"),
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        REELFORGE_HTTP_KEEPALIVE_SECONDS=str(KEEPALIVE),
        REELFORGE_HTTP_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
    )
    try:
        yield process.start()
    finally:
        process.stop()


def _trickle(sock: socket.socket, limit: float, first: bytes = b"GET /v2/requests/x/sta",
             then: bytes = b"t") -> float:  # fmt: skip
    """Send `first` (half a request line), then `then` once a second; seconds until the
    server closes the connection (or `limit`, if it never does)."""
    started = time.monotonic()
    sock.sendall(first)
    sock.settimeout(1.0)
    while time.monotonic() - started < limit:
        try:
            if sock.recv(4096) == b"":
                break
        except TimeoutError:
            pass
        except ConnectionResetError:
            break
        try:
            sock.sendall(then)
        except OSError:  # reset by the server
            break
    return time.monotonic() - started


def test_trickled_request_head_is_cut_off(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        elapsed = _trickle(sock, limit=HEADER_TIMEOUT + 8)
    assert elapsed < HEADER_TIMEOUT + 1.5, f"still connected after {elapsed:.1f} s"


def test_trickled_second_request_on_a_kept_alive_connection_is_cut_off(
    server: ServerProcess,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert _healthz(sock).startswith(b"HTTP/1.1 200 ")
        elapsed = _trickle(sock, limit=HEADER_TIMEOUT + 8)
    assert elapsed < HEADER_TIMEOUT + 1.5, f"still connected after {elapsed:.1f} s"


def _healthz(sock: socket.socket) -> bytes:
    """One whole GET /healthz answer on `sock`."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
    return _answer(sock)


def _answer(sock: socket.socket) -> bytes:
    answer = b""
    while not answer.endswith(b'{"status":"ok"}'):
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {answer!r}"
        answer += chunk
    return answer


def test_idle_kept_alive_connection_is_closed(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert _healthz(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.settimeout(KEEPALIVE + 5)
        assert sock.recv(4096) == b""
    assert time.monotonic() - started < KEEPALIVE + 1


def test_a_prompt_client_is_not_cut_off(server: ServerProcess) -> None:
    """A request head sent in pieces, each well within the timeout, is served."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for piece in (b"GET /hea", b"lthz HTTP/1.1\r\n", b"host: x\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(HEADER_TIMEOUT / 5)
        assert _answer(sock).startswith(b"HTTP/1.1 200 ")


def test_uvicorn_options_carry_the_settings() -> None:
    options = uvicorn_options(
        Settings(host="0.0.0.0", port=8123, http_keepalive_seconds=7, http_header_timeout_seconds=4,
                 http_body_timeout_seconds=9)
    )  # fmt: skip
    assert (options["host"], options["port"], options["timeout_keep_alive"]) == ("0.0.0.0", 8123, 7)
    assert (options["http"].header_timeout, options["http"].body_timeout) == (4, 9)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_trickled_body_is_cut_off(server: ServerProcess, framing: str) -> None:
    """Issue 21: 200 connections sending a byte every 2 s stayed open for 70 s and more."""
    length = (
        b"content-length: 100000" if framing == "content-length" else b"transfer-encoding: chunked"
    )
    head = (b"POST /v2/pixverse-v6 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"x-api-key: " + server.key.encode() + b"\r\n" + length + b"\r\n\r\n")  # fmt: skip
    byte = b" " if framing == "content-length" else b"1\r\n \r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        elapsed = _trickle(sock, BODY_TIMEOUT + 8, first=head, then=byte)
    assert elapsed < BODY_TIMEOUT + 2, f"still connected after {elapsed:.1f} s"


def test_an_answer_before_the_body_ends_the_connection(server: ServerProcess) -> None:
    """Issue 21: after a 401 the server went on reading an anonymous chunked body, 2.3 GB
    of it in 10 s. It answers, then closes: what it takes in is what the sockets buffer."""
    head = (b"POST /v2/pixverse-v6 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"  # 64 KiB of whitespace
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                sock.sendall(chunk)
            except OSError:  # reset or broken pipe: the server closed
                break
            sent += len(chunk)
            assert sent < 200_000_000, "the server is still reading after 200 MB"
        sock.settimeout(2)
        try:
            while part := sock.recv(4096):
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
    assert sent < 50_000_000, sent
    if answer:  # a reset can destroy the answer in flight; when it arrived it is the 401
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:100]
