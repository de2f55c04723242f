"""How uvicorn serves the API: its options from the settings, and a time limit on request
heads that uvicorn lacks.

uvicorn (0.54, h11) closes a kept-alive connection that stays idle `timeout_keep_alive`
seconds, but nothing bounds how long a request line and headers may take: a fresh
connection has no timer at all, and the keep-alive timer is cancelled by the first byte
of the next request. h11 bounds only their size (16 KiB). So a client sending a byte now
and then (a slowloris) would hold its connection forever. `HeaderTimeoutH11` adds one
timer per request head, from the connection's opening or from the first byte of the
head, cancelled once h11 has the whole head; when it fires the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from reelforge.settings import Settings


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head has not fully
    arrived `header_timeout` seconds after the connection opened or the head began.
    `uvicorn --http reelforge.api.server:HeaderTimeoutH11` uses the default."""

    header_timeout: float = Settings.model_fields["http_header_timeout_seconds"].default
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._start_head_timer()  # the first byte of the next request's head
        super().data_received(data)
        if self._head_timer is not None and self.conn.their_state is not h11.IDLE:
            self._head_timer.cancel()  # the whole head is in
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` / `uvicorn.run` serving the API."""
    protocol = type(
        "HeaderTimeoutH11", (HeaderTimeoutH11,),
        {"header_timeout": settings.http_header_timeout_seconds},
    )  # fmt: skip
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "timeout_keep_alive": settings.http_keepalive_seconds,
        "http": protocol,
    }
