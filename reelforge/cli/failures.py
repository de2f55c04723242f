"""Every failure a `reelforge` command's user can fix, said in one line on stderr (exit 1):

    reelforge <command>: <what it tried> (<what came back>); <how to fix it>

    server_errors(url)            a command talking to a Reelforge server
    ├── no connection             refused, unknown host, timeout, not an http(s) URL
    ├── an error status           4xx / 5xx with the server's {"error": ...}
    └── not a Reelforge answer    not JSON, not the fields Reelforge sends
    database_errors(settings)     a command reading the database directly
    ├── cannot connect or query   sqlalchemy OperationalError / InterfaceError
    └── not a usable URL          sqlalchemy ArgumentError (unknown dialect, bad syntax)

The segmind SDK (1.3.0) lets httpx's transport errors through unchanged and turns error
statuses into `SegmindError(status, detail)`; both are handled here. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    import httpx

    from reelforge.settings import Settings

_FIX_URL = "pass --url / set REELFORGE_URL"
# What to do about each error status; the server's own message says what was wrong.
_STATUS_FIX = {
    400: "fix that parameter",
    401: "pass the right key with --key / SEGMIND_API_KEY (or --data-dir of the server, "
    "for its admin key)",
    403: "use a key that is allowed this (see 'reelforge keys list')",
    404: f"check the model or request id, and that this is a Reelforge server ({_FIX_URL})",
    406: "give the account credits: 'reelforge credits grant ACCOUNT AMOUNT'",
    413: "send a smaller file",
    429: "rate limited: wait a minute and try again",
}


def fail(message: str) -> NoReturn:
    """Print `<command>: <message>` as one line on stderr and exit with status 1."""
    typer.echo(f"{_command()}: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


def _command() -> str:
    """The command being run: `reelforge run`, `reelforge keys list`, ..."""
    # Recent typer runs on its own copy of click (typer._click), older typer on click.
    for name in ("typer._click.globals", "click.globals"):
        try:
            context = importlib.import_module(name).get_current_context(silent=True)
        except ImportError:
            continue
        if context is not None:
            return str(context.command_path)
    return "reelforge"


class UnexpectedAnswer(Exception):
    """A 2xx answer that is not what a Reelforge server sends."""


def json_answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful answer; raises what `server_errors` reports."""
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise UnexpectedAnswer(f"a JSON {type(body).__name__} where an object was expected")
    return body


@contextmanager
def server_errors(url: str) -> Iterator[None]:
    """Report every way a call to the server at `url` can fail as one line."""
    import httpx
    from segmind import SegmindError

    try:
        yield
    except httpx.HTTPStatusError as exc:
        where = _origin(exc.request.url)
        if exc.response.is_redirect:  # e.g. a proxy sending http:// on to https://
            target = exc.response.headers.get("location", "elsewhere")
            fail(f"{where} redirects to {target}; pass the final address with --url")
        fail(_refused(where, exc.response.status_code, _message(exc.response)))
    except SegmindError as exc:
        if exc.status is not None and exc.status >= 400:
            fail(_refused(url, exc.status, exc.detail))
        fail(f"{url} answered unexpectedly ({exc.detail}); is it a Reelforge server? {_FIX_URL}")
    except httpx.TimeoutException as exc:
        where = _origin(exc.request.url) if _has_request(exc) else url
        if isinstance(exc, httpx.ConnectTimeout):
            fail(f"could not connect to {where} (timed out); is the host up? {_FIX_URL}")
        fail(
            f"{where} did not answer in time ({_phrase(exc)}); is the server overloaded, or "
            f"not a Reelforge server? try again, or {_FIX_URL}"
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        fail(f"{url} is not an http(s) URL; {_FIX_URL}, e.g. http://127.0.0.1:8000")
    except httpx.TransportError as exc:
        where = _origin(exc.request.url) if _has_request(exc) else url
        fail(
            f"could not connect to {where} ({_phrase(exc)}); is the server running? start it "
            f"with 'reelforge serve', or {_FIX_URL}"
        )
    except json.JSONDecodeError:
        fail(f"{url} answered something that is not JSON; is it a Reelforge server? {_FIX_URL}")
    except UnexpectedAnswer as exc:
        fail(f"{url} answered {exc}; is it a Reelforge server? {_FIX_URL}")


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """Report a database that cannot be reached or used as one line naming its URL
    (never its password) and the setting that chooses it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

    if settings.database_url is None:
        fix = "check --data-dir / REELFORGE_DATA_DIR, or set REELFORGE_DATABASE_URL"
    else:
        fix = "is the database running and reachable? fix REELFORGE_DATABASE_URL"
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
        reason = reason.removeprefix("connection failed: ")
        password = make_url(settings.resolved_database_url).password
        if password:
            reason = reason.replace(str(password), "***")
        fail(f"could not use the database {shown} ({reason}); {fix}")
    except ArgumentError as exc:
        fail(f"REELFORGE_DATABASE_URL is not a usable SQLAlchemy URL ({exc}); fix it")


def _refused(url: str, status: int, message: str | None) -> str:
    fix = _STATUS_FIX.get(status)
    if fix is None:
        fix = "see the server's log" if status >= 500 else "check the command's arguments"
    return f"{url} refused ({status}): {message or 'no error message'}; {fix}"


def _message(response: httpx.Response) -> str:
    """The server's `{"error": ...}`, else the start of whatever it sent."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return json.dumps(body)[:200]


def _origin(url: httpx.URL) -> str:
    """scheme://host:port, without the path and query (a signed URL's signature)."""
    return str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018  (a property that raises when the error has no request)
    except RuntimeError:
        return False
    return True


def _phrase(exc: Exception) -> str:
    """'connection refused', 'unknown host', ... rather than '[Errno 111] Connection
    refused'."""
    import socket

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        cause = cause.__cause__ or cause.__context__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
    return text[0].lower() + text[1:]
