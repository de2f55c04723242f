"""A webhook receiver on 127.0.0.1: a threaded http.server that records every POST,
verifies it with `standardwebhooks` (the way a user's receiver would), and answers with
the statuses a test scripts (`answers`: one per request, then 200)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any  # the verified JSON; None when verification failed
    error: str | None  # why verification failed

    @property
    def event(self) -> str | None:
        return None if self.payload is None else self.payload.get("event")


class Receiver:
    def __init__(self, secret: str | None = None):
        self.secret = secret  # verifies with this (set it once the account's is known)
        self.answers: list[int] = []  # the next requests' statuses, then 200 for ever
        self.redirect_to: str | None = None  # the Location of 3xx answers
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._record(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                if 300 <= status < 400 and receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        payload, error = None, None
        try:
            if self.secret is None:
                raise ValueError("the receiver has no secret yet")
            payload = Webhook(self.secret).verify(body, headers)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.received.append(Received(path, headers, body, payload, error))
            return self.answers.pop(0) if self.answers else 200

    def wait_for(
        self, done: Callable[[list[Received]], bool], timeout: float = 30.0
    ) -> list[Received]:
        """Every request so far, once `done(requests)` holds (fails after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = list(self.received)
            if done(seen):
                return seen
            if time.monotonic() > deadline:
                events = [(r.path, r.event, r.error) for r in seen]
                raise AssertionError(f"receiver: not done after {timeout} s; got {events}")
            time.sleep(0.02)

    def events(self, requests: list[Received] | None = None) -> list[str | None]:
        with self._lock:
            return [r.event for r in (self.received if requests is None else requests)]


def completed(requests: list[Received]) -> bool:
    """wait_for condition: a `completed` webhook arrived."""
    return any(r.event == "completed" for r in requests)


def iter_payloads(requests: list[Received]) -> Iterator[dict[str, Any]]:
    for request in requests:
        assert request.error is None, request.error
        yield json.loads(request.body)
