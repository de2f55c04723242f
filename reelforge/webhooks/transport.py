"""One webhook POST, made the way input URLs are fetched (media/ingest, media/pinning):
the host is resolved once, every address it resolves to is checked against the address
rules (no loopback, private or link-local target unless REELFORGE_ALLOW_PRIVATE_URLS;
cloud metadata never), and the connection goes to exactly those addresses, so a DNS
answer that changes after the check cannot point the POST elsewhere. The whole attempt,
resolving to the last byte of the answer, ends within `timeout` seconds. Redirects are
not followed: a 3xx is a failed attempt, like any answer but a 2xx."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpcore
import httpx

from reelforge.media.ingest import check_url
from reelforge.media.pinning import AddressRefused, FetchRefused, PinnedBackend, Pins, Resolver

USER_AGENT = b"reelforge-webhook/0.1"
MAX_ANSWER_BYTES = 64 * 1024  # read (and ignored) of the receiver's answer; then we hang up


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status_code: int | None  # the receiver's HTTP status; None when it never answered
    error: str | None  # why it does not count as delivered; None: delivered (a 2xx)
    seconds: float  # how long the attempt took
    # no later attempt can do better: the URL is no longer acceptable, or its host
    # resolves to a refused address (retried for hours before, for nothing)
    final: bool = False

    @property
    def delivered(self) -> bool:
        return self.error is None


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool,
    resolver: Resolver | None = None,
) -> Outcome:
    """POST `body` (JSON) with `headers` to `url`; never raises for the receiver's sake.
    `resolver` replaces the system's DNS (a seam for tests)."""
    started = time.monotonic()
    deadline = started + timeout
    status: int | None = None
    final = False
    try:
        check_url(url, max_bytes=0, allow_private=allow_private)
        target = httpx.URL(url)
        pins = Pins(allow_private, deadline, resolver=resolver)
        pins.pin(target)
        status = _send(target, body, headers, pins, deadline)
        error = None if 200 <= status < 300 else _refusal(status)
    except (ValueError, AddressRefused) as exc:
        error, final = str(exc), True
    except FetchRefused as exc:
        error = str(exc)
    except httpcore.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        error = str(exc) or type(exc).__name__  # e.g. "[Errno 111] Connection refused"
    return Outcome(status, error, round(time.monotonic() - started, 3), final)


def _send(
    url: httpx.URL, body: bytes, headers: Mapping[str, str], pins: Pins, deadline: float
) -> int:
    pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=PinnedBackend(pins, deadline),
    )
    sent = [
        (b"Host", url.netloc),
        (b"User-Agent", USER_AGENT),
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body)).encode()),
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
    ]
    target = httpcore.URL(
        scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
    )
    left = max(0.001, deadline - time.monotonic())
    limits = {"connect": left, "read": left, "write": left, "pool": left}
    with (
        pool,
        pool.stream(
            "POST", target, headers=sent, content=body, extensions={"timeout": limits}
        ) as r,
    ):
        read = 0
        for chunk in r.iter_stream():  # drained, so the status is the whole answer's
            read += len(chunk)
            if read > MAX_ANSWER_BYTES:
                break
        return int(r.status)


def _refusal(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"
