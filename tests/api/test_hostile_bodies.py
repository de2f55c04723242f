"""Hostile request bodies against a real server: a 5,000-digit number or JSON nested
100,000 deep is a 400 naming the problem (not a 500), on every route that reads JSON, and
the keep-alive connection survives it; a body past REELFORGE_MAX_BODY_BYTES is a 413 sent
while the client is still sending, without the server buffering it or stalling others."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from reelforge.api import body
from reelforge.errors import BadRequest
from tests.support.server import FAKE_ENGINE, ServerProcess

T2V = "pixverse-text2video"
CAP = 16_000_000  # the default REELFORGE_MAX_BODY_BYTES
JSON_ROUTES = (f"/v2/{T2V}", f"/v1/{T2V}", "/v1/files", "/upload-asset")
HUGE_NUMBER = b'{"prompt": "a", "name": "a", "seed": ' + b"1" * 5000 + b"}"
DEEP = b"[" * 100_000 + b"]" * 100_000
ADMIN_DEEP = b"[" * 30_000 + b"]" * 30_000  # admin bodies are capped at 64 KiB


@pytest.fixture(scope="module")
def server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: the RSS figures below must be this test's alone."""
    process = serve(tmp_path_factory.mktemp("hostile"), REELFORGE_ENGINE=FAKE_ENGINE)
    try:
        yield process.start()
    finally:
        process.stop()


def _connection(server: ServerProcess) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.connect()
    return conn


def _post(conn: http.client.HTTPConnection, server: ServerProcess, path: str, raw: bytes):
    headers = {**server.headers(), "content-type": "application/json"}
    conn.request("POST", path, body=raw, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (HUGE_NUMBER, "request body: a number has more than 4300 digits"),
        (DEEP, "request body: nested deeper than 64 levels"),
    ],
    ids=["5000-digit-number", "nested-100000-deep"],
)
def test_hostile_json_is_400_naming_the_problem_and_keeps_the_connection(
    server: ServerProcess, raw: bytes, problem: str
) -> None:
    conn = _connection(server)
    sock = conn.sock
    for path in JSON_ROUTES:
        status, answer = _post(conn, server, path, raw)
        assert (status, answer) == (400, {"error": problem}), path
        # the same connection still serves the next request
        conn.request("GET", "/healthz")
        assert conn.getresponse().read() == b'{"status":"ok"}'
        assert conn.sock is sock, f"{path}: the server closed the connection"
    conn.close()


def test_admin_routes_read_json_the_same_way(server: ServerProcess) -> None:
    conn = _connection(server)
    for raw, problem in [
        (HUGE_NUMBER, "request body: a number has more than 4300 digits"),
        (ADMIN_DEEP, "request body: nested deeper than 64 levels"),
        (b'{"name": "x", "credits": NaN}', "request body: NaN is not a JSON number"),
    ]:
        assert _post(conn, server, "/v1/admin/keys", raw) == (400, {"error": problem})
    status, answer = _post(conn, server, "/v1/admin/keys", b" " * 70_000)
    assert status == 413 and "65536" in answer["error"]
    conn.close()


def test_json_reader_limits() -> None:
    assert body.parse_json(b"[" * 64 + b"]" * 64) is not None  # 64 levels are fine
    assert body.parse_json(b'{"a": ' + b"9" * 4300 + b"}") == {"a": int("9" * 4300)}
    for raw, problem in [
        (b"[" * 65 + b"]" * 65, "nested deeper than 64 levels"),
        (b'{"a": [{"b": ' * 22 + b"1" + b"}]}" * 22, "nested deeper than 64 levels"),
        (b"-" + b"9" * 4301, "a number has more than 4300 digits"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": 1e999}', "out of range"),
        (b"{nope", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
    ]:
        with pytest.raises(BadRequest, match=problem):
            body.parse_json(raw)


def _rss(server: ServerProcess) -> int:
    assert server.process is not None
    return int(psutil.Process(server.process.pid).memory_info().rss)


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_declared_oversize_body_is_413_before_it_is_sent(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = (
            f"POST /v2/{T2V} HTTP/1.1\r\nhost: x\r\nx-api-key: {server.key}\r\n"
            f"content-type: application/json\r\ncontent-length: 400000000\r\n\r\n"
        )
        started = time.monotonic()
        sock.sendall(head.encode() + b'{"prompt": "')
        answer = _read_answer(sock)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    error = json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    assert str(CAP) in error and "/v1/files" in error
    assert elapsed < 2, f"413 took {elapsed:.2f} s"


class _Stream:
    """A 400 MB JSON body sent from a thread as fast as the server takes it, chunked or
    with its Content-Length declared."""

    TOTAL = 400_000_000
    CHUNK = 1_000_000

    def __init__(self, server: ServerProcess, chunked: bool):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.chunked = chunked
        self.sent = 0
        size = self.TOTAL + len(b'{"prompt": ""}')
        framing = "transfer-encoding: chunked" if chunked else f"content-length: {size}"
        self.head = (
            f"POST /v2/{T2V} HTTP/1.1\r\nhost: x\r\nx-api-key: {server.key}\r\n"
            f"content-type: application/json\r\n{framing}\r\n\r\n"
        ).encode()

    def _send(self, data: bytes) -> None:
        framed = b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data
        self.sock.sendall(framed)
        self.sent += len(data)

    def run(self) -> None:
        try:
            self.sock.sendall(self.head)
            self._send(b'{"prompt": "')
            filler = b"a" * self.CHUNK
            while self.sent < self.TOTAL:
                self._send(filler)
            self._send(b'"}')
            if self.chunked:
                self.sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stops reading once it has answered, and closes


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_streamed_oversize_body_is_413_while_the_client_still_sends(
    server: ServerProcess, chunked: bool
) -> None:
    # a job whose status we poll while the big body streams in
    submitted = httpx.post(f"{server.base_url}/v2/{T2V}", json={"prompt": "x"},
                           headers=server.headers())  # fmt: skip
    status_url = submitted.json()["status_url"]
    baseline = _rss(server)
    peak = baseline
    latencies: list[float] = []
    stop = threading.Event()

    def poll_status() -> None:
        with httpx.Client(headers=server.headers(), timeout=30) as client:
            while not stop.is_set():
                started = time.monotonic()
                assert client.get(status_url).status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)

    stream = _Stream(server, chunked)
    sender = threading.Thread(target=stream.run, daemon=True)
    poller = threading.Thread(target=poll_status, daemon=True)
    poller.start()
    started = time.monotonic()
    sender.start()
    answer = b""
    while b"\r\n\r\n" not in answer and time.monotonic() - started < 60:
        peak = max(peak, _rss(server))
        # select, not a socket timeout: that would apply to the sending thread as well
        if select.select([stream.sock], [], [], 0.02)[0]:
            if not (chunk := stream.sock.recv(65536)):
                break
            answer += chunk
    to_413 = time.monotonic() - started
    sent_at_answer = stream.sent
    for _ in range(25):  # the server's memory while the rest of the body arrives
        peak = max(peak, _rss(server))
        time.sleep(0.02)
    stop.set()
    poller.join(30)
    stream.sock.close()
    sender.join(30)
    assert not sender.is_alive()
    figures = (
        f"413 after {to_413:.2f} s with {sent_at_answer / 1e6:.0f} MB sent; RSS "
        f"{baseline / 1e6:.0f} -> peak {peak / 1e6:.0f} MB; status latency max "
        f"{max(latencies) * 1000:.0f} ms over {len(latencies)} polls"
    )
    print(f"{'chunked' if chunked else 'content-length'}: {figures}")
    assert answer.startswith(b"HTTP/1.1 413 "), (answer[:200], figures)
    assert sent_at_answer < _Stream.TOTAL, f"answered only once all was sent: {figures}"
    assert to_413 < 5, figures
    # at most the cap is ever held: nothing when the declared length is too large, up to
    # the cap (plus the allocator's slack) when only the count of what arrived tells
    assert peak - baseline < (CAP + 4_000_000 if chunked else CAP / 4), figures
    assert latencies and max(latencies) < 0.5, figures
