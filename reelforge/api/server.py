"""How uvicorn serves the API: its options from the settings, and a time limit on request
heads that uvicorn lacks.

uvicorn (0.55) closes a kept-alive connection that stays idle `timeout_keep_alive`
seconds, but nothing bounds how long a request line and headers may take: a fresh
connection has no timer at all, and the keep-alive timer is cancelled by the first byte
of the next request. h11 bounds only their size (16 KiB); httptools (llhttp) not even
that. So a client sending a byte now and then (a slowloris) would hold its connection
forever. Both protocols here add one timer per request head, from the connection's
opening or from the first byte of the head, cancelled once the whole head is in; when it
fires the connection is closed. `HeaderTimeoutHttpTools` (the fast parser of
`uvicorn[standard]`, the one we serve with) also refuses a head over 16 KiB, as h11 does.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from reelforge.settings import Settings

DEFAULT_HEADER_TIMEOUT = Settings.model_fields["http_header_timeout_seconds"].default
DEFAULT_BODY_TIMEOUT = Settings.model_fields["http_body_timeout_seconds"].default
MAX_HEAD_BYTES = 16 * 1024  # request line and headers (h11's own default bound)
# each byte of a body that arrives buys it 1/BODY_BYTES_PER_SECOND s more than the body
# timeout: a 200 MB upload at 1 MB/s goes through, one byte every two seconds does not
BODY_BYTES_PER_SECOND = 64 * 1024


def settle_heap() -> None:
    """Leave everything built so far (the app, its libraries: some 136,000 objects) out of
    the cyclic garbage collector's reach. A full collection of that heap paused the event
    loop for about 70 ms, the status route's slowest answers; what requests allocate is
    still collected. Once per server process, after its app is built (never in tests,
    where many apps come and go in one process)."""
    gc.collect()
    gc.freeze()


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head has not fully
    arrived `header_timeout` seconds after the connection opened or the head began.
    `uvicorn --http reelforge.api.server:HeaderTimeoutH11` uses the default."""

    _head_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, header_timeout: float = DEFAULT_HEADER_TIMEOUT, **kw: Any):
        super().__init__(*args, **kw)
        self.header_timeout = header_timeout

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


class HeadTooLarge(Exception):
    """Raised in a parser callback: httptools turns it into a parser error (a 400)."""


class HeaderTimeoutHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with the same head timer as `HeaderTimeoutH11`, and
    a 400 for a head over MAX_HEAD_BYTES. The parser reports a request's begin, its
    complete head and its end; the timer runs while a head is awaited (from the first
    byte of a chunk that left it incomplete) and no answer is being sent (bytes a client
    sends while its answer is on the way are pipelined: their timer starts once it is
    done). `uvicorn --http reelforge.api.server:HeaderTimeoutHttpTools` uses the default."""

    def __init__(
        self,
        *args: Any,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_deadline = 0.0
        self._in_head = False  # a request began and its head is not complete yet
        self._in_message = False  # a request began and its body is not complete yet
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer(self.loop.time())

    def data_received(self, data: bytes) -> None:
        arrived = self.loop.time()
        super().data_received(data)
        awaiting_head = self._in_head or not self._in_message
        if self._head_timer is None and awaiting_head and self._answered():
            self._start_head_timer(arrived)  # the first byte of an incomplete head

    def on_message_begin(self) -> None:
        self._in_head = self._in_message = True
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()  # the whole head is in
            self._head_timer = None
        super().on_headers_complete()
        # the body (if any) must follow: within the body timeout, plus what it brings
        self._body_deadline = self.loop.time() + self.body_timeout
        self._body_timer = self.loop.call_at(self._body_deadline, self._body_too_slow)

    def on_body(self, body: bytes) -> None:
        self._body_deadline += len(body) / BODY_BYTES_PER_SECOND
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._stop_body_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._in_message and not self.transport.is_closing():
            # answered before its body was read to the end (a 401, a 400, a 413): the rest
            # of it would be read and thrown away, gigabytes of it if the client likes,
            # so the connection ends with the answer (close() sends what is queued first)
            self._stop_body_timer()
            self.transport.close()
        super().on_response_complete()
        if self._in_head and self._head_timer is None and not self.transport.is_closing():
            self._start_head_timer(self.loop.time())  # a pipelined head, still incomplete

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._stop_body_timer()
        super().connection_lost(exc)

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if not self._in_message or self.transport.is_closing():
            return
        if self.loop.time() < self._body_deadline:  # it brought more time: wait for that
            self._body_timer = self.loop.call_at(self._body_deadline, self._body_too_slow)
            return
        self.transport.close()  # the app reading it sees the client gone

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge(f"request head over {MAX_HEAD_BYTES} bytes")

    def _answered(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _start_head_timer(self, since: float) -> None:
        if not self.transport.is_closing():
            when = since + self.header_timeout
            self._head_timer = self.loop.call_at(when, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self._answered():
            return  # an answer is on the way: on_response_complete starts the timer again
        if (self._in_head or not self._in_message) and not self.transport.is_closing():
            self.transport.close()


@dataclass(frozen=True)
class WithHeaderTimeout:
    """uvicorn's `http=`: makes `protocol` connections with `header_timeout`. A plain
    picklable value (not a class made at run time), so that `workers=N` can send it to
    its worker processes."""

    protocol: type[HeaderTimeoutHttpTools]
    header_timeout: float
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def __call__(self, *args: Any, **kwargs: Any) -> asyncio.Protocol:
        return self.protocol(
            *args, header_timeout=self.header_timeout, body_timeout=self.body_timeout, **kwargs
        )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` / `uvicorn.run` serving the API: uvloop and
    httptools (`uvicorn[standard]`), with the head timer above."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "timeout_keep_alive": settings.http_keepalive_seconds,
        "loop": "uvloop",
        "http": WithHeaderTimeout(
            HeaderTimeoutHttpTools,
            settings.http_header_timeout_seconds,
            settings.http_body_timeout_seconds,
        ),
    }
