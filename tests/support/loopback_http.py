"""Threaded HTTP servers on loopback for fetcher tests; each test module brings its own
request handler (the routes), this module the serving."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # hung-up clients are expected
        pass


def serve(server: QuietServer, scheme: str = "http") -> Iterator[QuietServer]:
    """Run `server` in a thread while the caller's fixture yields it; `.base` is its URL,
    `.requests` the paths it was asked for."""
    host, port = server.server_address[:2]
    netloc = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    server.requests = []  # type: ignore[attr-defined]
    server.base = f"{scheme}://{netloc}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
