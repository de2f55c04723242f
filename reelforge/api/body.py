"""Request bodies: capped while they stream in, and parsed as JSON by one reader, off the
event loop, that refuses what would crash or stall a parser.

    stream(request, limit)      the body's chunks; 413 as soon as it is past `limit`
    read(request, limit)        the whole body, capped the same way
    parse_json(raw)             JSON with bounded numbers and nesting, else a 400 naming why
    read_json(request, limit)   read, then parse_json in a worker thread
    JsonRoute                   an APIRoute whose pydantic body is read by read_json

A body over the cap is refused from its Content-Length before a byte of it is read, or
from the count of what has arrived, so at most `limit` bytes are ever held. The 413 is
sent at once, with `Connection: close`: the rest of the body is never read (draining it
would cost the event loop as much as reading it), the client finds the 413 waiting when
its next write fails (httpx and urllib3 read it then), and closing is the only way to
tell a client that is still sending to stop.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from reelforge.errors import BadRequest, PayloadTooLarge

MAX_DEPTH = 64  # nested arrays/objects; no parameter needs more than 3
MAX_DIGITS = 4300  # CPython's own limit for int(str); no parameter needs more than 20
ADMIN_BODY_BYTES = 64 * 1024  # admin bodies are a few short fields


async def stream(request: Request, limit: int, hint: str = "") -> AsyncGenerator[bytes, None]:
    """The request body in chunks; PayloadTooLarge (413) as soon as it is past `limit`
    bytes, whatever it declared. `hint` ends the message (what to do instead)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, hint)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, hint)
        yield chunk


def _too_large(limit: int, hint: str) -> PayloadTooLarge:
    message = f"request body: larger than {limit} bytes{hint}"
    return PayloadTooLarge(message, headers={"Connection": "close"})  # see the module doc


async def read(request: Request, limit: int, hint: str = "") -> bytearray:
    """The whole request body, at most `limit` bytes (else 413)."""
    body = bytearray()
    async for chunk in stream(request, limit, hint):
        body += chunk
    return body


async def read_json(request: Request, limit: int, hint: str = "") -> Any:
    """The request body parsed as JSON (None when empty), parsed in a worker thread so that
    a large body never stalls other requests."""
    raw = await read(request, limit, hint)
    if not raw or raw.isspace():
        return None
    return await run_in_threadpool(parse_json, raw)


def parse_json(raw: bytes | bytearray) -> Any:
    """JSON text as Python values; BadRequest naming the problem for malformed JSON, a
    number with more than MAX_DIGITS digits or out of float range, NaN or Infinity, or
    nesting deeper than MAX_DEPTH."""
    try:
        value = json.loads(raw, parse_int=_integer, parse_float=_float, parse_constant=_no_constant)
    except RecursionError:  # the C parser's own guard, far deeper than MAX_DEPTH
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequest(f"request body: not valid JSON ({exc})") from None
    _check_depth(value)
    return value


def _integer(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_DIGITS:
        raise BadRequest(f"request body: a number has more than {MAX_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise BadRequest(f"request body: a number has more than {MAX_DIGITS} digits")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadRequest(f"request body: the number {text[:20]} is out of range")
    return value


def _no_constant(text: str) -> Any:
    raise BadRequest(f"request body: {text} is not a JSON number")


def _too_deep() -> BadRequest:
    return BadRequest(f"request body: nested deeper than {MAX_DEPTH} levels")


def _check_depth(value: Any) -> None:
    """Level by level, without recursion: what the parser returned may still be too deep
    for code that walks it (validation, fingerprints, json.dumps)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        inner: list[Any] = []
        for container in level:
            items = container.values() if isinstance(container, dict) else container
            inner.extend(item for item in items if isinstance(item, dict | list))
        if not inner:
            return
        level = inner
    raise _too_deep()


class _ReadRequest(Request):
    """A request whose body has been read and parsed already (by JsonRoute)."""

    def __init__(self, request: Request, raw: bytes, parsed: Any):
        super().__init__(request.scope, request.receive)
        self._raw, self._parsed = raw, parsed

    async def body(self) -> bytes:
        return self._raw

    async def json(self) -> Any:
        return self._parsed


class JsonRoute(APIRoute):
    """An APIRoute whose JSON body FastAPI takes from `read_json` (capped at
    ADMIN_BODY_BYTES, hostile JSON a 400 naming why) instead of its own json.loads."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            raw = bytes(await read(request, ADMIN_BODY_BYTES))
            parsed = None if not raw or raw.isspace() else await run_in_threadpool(parse_json, raw)
            return await handle(_ReadRequest(request, raw, parsed))

        return route
