"""The one way an input URL (image_url, video_url, ...) becomes a local file.

`check_url` is the cheap, offline check the API runs at submit (400 on failure); `fetch`
is what the worker runs. Decoding the fetched file lives in `reelforge.media.decode`
(re-exported here so callers need one import).

How an http(s) fetch stays on the public internet (SSRF):
  * each host is resolved ONCE per fetch, in `pinning.Pins`; every address it resolves
    to must be public (see `reelforge.media.addresses`) unless `allow_private`;
  * the connection is made by httpcore through `pinning.PinnedBackend`, whose `connect_tcp`
    ignores DNS and dials only the pinned addresses, so a DNS answer that changes
    between check and connect (rebinding) cannot redirect it. httpcore still takes the
    host name from the URL for the Host header and for TLS (SNI and certificate
    verification), so HTTPS works unchanged;
  * redirects are followed by hand, at most `MAX_REDIRECTS`, each hop re-checked;
  * `pinning.DeadlineStream` clamps every socket read/write to the time left, so `timeout` is
    a hard bound on the whole fetch, not a per-read idle timeout;
  * the body is counted while streaming; Content-Length is only used to refuse early.
Environment proxies are not used (a proxy would resolve the name itself).
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import httpcore
import httpx

from reelforge.errors import InputError
from reelforge.media.addresses import (
    Networks,
    always_refused,
    describe_blocked,
    host_name_problem,
    literal_ip,
)
from reelforge.media.decode import detect_media, load_image, load_video
from reelforge.media.pinning import FetchRefused, PinnedBackend, Pins, Resolver

__all__ = ["MAX_REDIRECTS", "check_url", "detect_media", "fetch", "load_image", "load_video"]

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0  # seconds to open one connection (each is also within the total)
READ_TIMEOUT = 30.0  # seconds one read may wait for data (a stalled server)
DATA_MEDIA_TYPES = ("image/", "video/", "application/octet-stream")
_REDIRECTS = {301, 302, 303, 307, 308}
_HEADERS = [
    (b"User-Agent", b"reelforge-fetch/0.1"),
    (b"Accept", b"image/*, video/*, */*;q=0.5"),
    (b"Accept-Encoding", b"identity"),  # media is compressed already; no gzip bombs
]


# --- offline checks ----------------------------------------------------------------------


def url_scheme(url: str) -> str:
    """The scheme of `url`, lower-case ("" without one), without copying the rest of it:
    a data: URL may be hundreds of MB."""
    colon = url.find(":", 0, 64)  # no scheme is longer
    return url[:colon].strip().lower() if colon >= 0 else ""


def check_url(
    url: str, *, max_bytes: int, allow_private: bool, blocked_extra: Networks = ()
) -> None:
    """Check what can be checked about an input URL without touching the network.

    Accepts http, https and data URLs. Refuses: other schemes, malformed URLs, user
    names/passwords in the URL, a host that is a literal non-public IP address (in any
    spelling the resolver accepts, e.g. ``2130706433``) or ``localhost`` unless
    `allow_private`, a literal cloud metadata or `blocked_extra` address even then, and
    data URLs that are not image/video (or octet-stream) or whose payload decodes to
    more than `max_bytes`. Raises ValueError with a short message.
    """
    scheme = url_scheme(url)
    if scheme == "data":
        _parse_data_header(url, max_bytes)
        return
    if scheme not in ("http", "https"):
        raise ValueError("URL must start with http://, https:// or data:")
    parsed = _parse_http(url)
    host = parsed.host.rstrip(".").lower()
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise ValueError(f"URL points to a loopback host {host}")
    ip = literal_ip(host)
    if ip is None:
        return
    reason = None if allow_private else describe_blocked(ip)
    reason = reason or always_refused(ip, blocked_extra)
    if reason:
        raise ValueError(f"URL points to {reason}")


def _parse_http(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ValueError(f"malformed URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("URL must be http:// or https:// with a host name")
    if parsed.userinfo:
        raise ValueError("URL must not contain a user name or password")
    host = parsed.raw_host.decode("ascii", "replace")
    if ":" in host:  # an IPv6 literal; a zone id ("%25eth0") only names a local link
        if "%" in host:
            raise ValueError("URL must not contain an IPv6 zone id")
    elif not re.fullmatch(r"[a-z0-9_.-]+", host):
        raise ValueError(f"malformed URL: bad host name {parsed.host!r}")
    elif problem := host_name_problem(host):
        raise ValueError(f"malformed URL: {problem}")
    return parsed


def _parse_data_header(url: str, max_bytes: int) -> tuple[str, bool, int]:
    """(media type, is base64, where the payload starts in `url`) of a data URL, checked
    for type and size. The payload is never copied here: it may be hundreds of MB."""
    blank = _LEADING_SPACE.match(url)
    start = (blank.end() if blank else 0) + len("data:")
    comma = url.find(",", start)
    if comma < 0:
        raise ValueError("malformed data URL: no ',' before the data")
    head = url[start:comma]
    params = [p.strip() for p in head.split(";")]
    is_b64 = len(params) > 1 and params[-1].lower() == "base64"
    media_type = (params[0] or "text/plain").lower()
    if not media_type.startswith(DATA_MEDIA_TYPES):
        raise ValueError(f"data URL must hold an image or a video, not {media_type}")
    # The decoded size without decoding: each %XX is one byte (or one base64 character),
    # and base64 packs 3 bytes into 4 characters.
    estimate = len(url) - comma - 1 - 2 * url.count("%", comma)
    if is_b64:
        estimate = estimate * 3 // 4
    if estimate > max_bytes:
        raise ValueError(f"data URL is larger than {format_bytes(max_bytes)}")
    return media_type, is_b64, comma + 1


_LEADING_SPACE = re.compile(r"\s*")


def format_bytes(n: int) -> str:
    """Human size for messages: 20000000 -> "20 MB"."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _short(url: str) -> str:
    """The URL as shown in messages: data URLs and very long URLs are cut."""
    if url[:5].lower() == "data:":
        return url.split(",", 1)[0][:60] + ",..."
    return url if len(url) <= 200 else url[:200] + "..."


# --- fetch -------------------------------------------------------------------------------


def fetch(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    blocked_extra: Networks = (),
    resolver: Resolver | None = None,
) -> Path:
    """Download `url` (http, https or data) to `dest` and return `dest`.

    Enforces everything in `check_url`, plus for http(s): every address a host resolves
    to must be public unless `allow_private` (the connection goes to exactly the
    addresses checked), at most `MAX_REDIRECTS` redirects (each hop checked again), only
    a final 200 counts, the body may not exceed `max_bytes` (counted while reading) and
    the whole fetch must finish within `timeout` seconds (each connection within
    `connect_timeout`, and no read may wait longer than `read_timeout` for data). Raises
    InputError with a message naming the problem; no partial file is left at `dest`.

    `blocked_extra` (networks refused even with `allow_private`) and `resolver` (instead
    of the system's DNS) are seams for tests; product code leaves them alone.
    """
    dest = Path(dest)
    deadline = time.monotonic() + timeout
    try:
        check_url(url, max_bytes=max_bytes, allow_private=allow_private,
                  blocked_extra=blocked_extra)  # fmt: skip
        if url_scheme(url) == "data":
            _write_data_url(url, dest, max_bytes)
        else:
            pins = Pins(allow_private, deadline, blocked_extra=blocked_extra, resolver=resolver)
            limits = {"connect": connect_timeout, "read": read_timeout}
            _fetch_http(url.strip(), dest, max_bytes, deadline, pins, limits)
        return dest
    except (ValueError, FetchRefused) as exc:
        detail = str(exc)
    except httpcore.TimeoutException as exc:
        if time.monotonic() >= deadline - 0.01:
            detail = f"timed out after {timeout:g} s"
        elif isinstance(exc, httpcore.ConnectTimeout):
            detail = f"could not connect within {connect_timeout:g} s"
        else:
            detail = f"no data received for {read_timeout:g} s"
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        detail = str(exc) or type(exc).__name__  # e.g. "[Errno 111] Connection refused"
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    dest.unlink(missing_ok=True)
    raise InputError(f"could not fetch {_short(url)}: {detail}")


DATA_CHUNK = 4 * 1024 * 1024  # base64 characters decoded at a time


def _write_data_url(url: str, dest: Path, max_bytes: int) -> None:
    """Decode a data URL's payload into `dest`. A base64 payload (what every SDK sends;
    200 MB of video is 270 MB of text) is decoded a few MB at a time, straight into the
    file: decoding it whole took four copies of it (unquoted, stripped, translated,
    padded) besides the text itself, 1 GB of memory for one 241 MB upload."""
    _, is_b64, begin = _parse_data_header(url, max_bytes)
    if not is_b64 or url.find("%", begin) >= 0:  # percent-escapes: rare, and small
        raw = _decode_data_payload(url[begin:].rstrip(), is_b64, max_bytes)
        dest.write_bytes(raw)
        return
    size = 0
    carry = b""  # characters past the last whole 4-character group
    with dest.open("wb") as out:
        for start in range(begin, len(url), DATA_CHUNK):
            try:
                text = url[start : start + DATA_CHUNK].encode("ascii")
            except UnicodeEncodeError:
                raise FetchRefused("invalid base64 data") from None
            text = carry + re.sub(rb"\s+", b"", text).translate(_URLSAFE)
            whole = len(text) - len(text) % 4
            carry = text[whole:]
            size += _decode_b64(text[:whole], out, size, max_bytes)
        if carry:
            size += _decode_b64(carry + b"=" * (-len(carry) % 4), out, size, max_bytes)
    if not size:
        raise FetchRefused("the data URL is empty")


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _decode_b64(text: bytes, out: Any, written: int, max_bytes: int) -> int:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise FetchRefused("invalid base64 data") from None
    if written + len(raw) > max_bytes:
        raise FetchRefused(f"data URL is larger than {format_bytes(max_bytes)}")
    out.write(raw)
    return len(raw)


def _decode_data_payload(payload: str, is_b64: bool, max_bytes: int) -> bytes:
    raw = unquote_to_bytes(payload)
    if is_b64:
        raw = re.sub(rb"\s+", b"", raw).translate(_URLSAFE)
        try:
            raw = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
        except binascii.Error:
            raise FetchRefused("invalid base64 data") from None
    if len(raw) > max_bytes:
        raise FetchRefused(f"data URL is larger than {format_bytes(max_bytes)}")
    if not raw:
        raise FetchRefused("the data URL is empty")
    return raw


def _fetch_http(
    url: str, dest: Path, max_bytes: int, deadline: float, pins: Pins, limits: dict[str, float]
) -> None:
    pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(),
        network_backend=PinnedBackend(pins, deadline),
    )
    current = _parse_http(url)
    with pool:
        for _ in range(MAX_REDIRECTS + 1):
            pins.pin(current)
            headers = [(b"Host", current.netloc), *_HEADERS]
            target = httpcore.URL(
                scheme=current.raw_scheme,
                host=current.raw_host,
                port=current.port,
                target=current.raw_path,
            )
            timeouts = _timeouts(deadline, limits)
            with pool.stream("GET", target, headers=headers, extensions=timeouts) as r:
                if r.status in _REDIRECTS and _header(r, b"location") is not None:
                    current = _next_hop(current, _header(r, b"location") or "", pins)
                    continue
                if r.status != 200:
                    raise FetchRefused(f"HTTP {r.status}")
                _save(r, dest, max_bytes, deadline)
                return
        raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")


def _ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle); a seam for the TLS test."""
    return httpx.create_ssl_context(trust_env=False)


def _next_hop(current: httpx.URL, location: str, pins: Pins) -> httpx.URL:
    """The redirect target, checked like a submitted URL."""
    try:
        nxt = current.join(location)
        if nxt.scheme not in ("http", "https"):
            raise ValueError(f"redirect to a {nxt.scheme or 'relative'} URL")
        check_url(str(nxt), max_bytes=1, allow_private=pins.allow_private,
                  blocked_extra=pins.blocked_extra)  # fmt: skip
        return _parse_http(str(nxt))
    except (ValueError, httpx.InvalidURL) as exc:
        raise FetchRefused(f"bad redirect to {_short(location)}: {exc}") from None


def _save(response, dest: Path, max_bytes: int, deadline: float) -> None:
    too_big = FetchRefused(f"the file is larger than {format_bytes(max_bytes)}")
    encoding = (_header(response, b"content-encoding") or "identity").lower()
    if encoding != "identity":
        raise FetchRefused(f"unexpected {encoding} content encoding")
    length = _header(response, b"content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise too_big  # refuse early; a smaller claim is not trusted below
    size = 0
    with dest.open("wb") as out:
        for chunk in response.iter_stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_big
            if time.monotonic() > deadline:
                raise httpcore.ReadTimeout("deadline passed")
            out.write(chunk)
    if size == 0:
        raise FetchRefused("the response is empty")


def _header(response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _timeouts(deadline: float, limits: dict[str, float]) -> dict:
    """httpcore's per-operation timeouts; `DeadlineStream` also clamps each to the deadline."""
    left = max(0.001, deadline - time.monotonic())
    connect, read = min(left, limits["connect"]), min(left, limits["read"])
    return {"timeout": {"connect": connect, "read": read, "write": read, "pool": left}}
