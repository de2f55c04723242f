"""`reelforge watch ID`: a request's progress from the server's live stream, drawn as a
progress bar until the request ends; `follow` and `outcome` do the same for `reelforge run`.

The stream, `GET /v2/requests/{id}/stream` (server-sent events), sends the request's
/status JSON as a `status` event at once and on every change, a comment line every 15 s,
and a terminal `completed` or `failed` event, after which the server closes it. A dropped
connection is resumed by reconnecting with `Last-Event-ID`. The events are read in a
thread of their own, so that `--timeout` holds even while the server sends only
keep-alives, and Ctrl-C stops watching at once.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelforge.cli.common import (
    DataDirOpt,
    KeyOpt,
    UrlOpt,
    api_key,
    console,
    load_settings,
    server_url,
)
from reelforge.cli.failures import UnexpectedAnswer, fail, server_errors

if TYPE_CHECKING:
    import httpx

app = typer.Typer()

STATES = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED")
TERMINAL_EVENTS = ("completed", "failed")
READ_SECONDS = 60.0  # the server speaks at least every 15 s: a minute of silence is a lost line
RECONNECTS = 5  # consecutive reconnects that bring nothing before giving up

# What the reader thread hands over: (event name, its data), or an error to report.
Item = tuple[str, dict[str, Any]] | BaseException


@app.command()
def watch(
    request_id: Annotated[
        str, typer.Argument(metavar="ID", help="a request id, as 'reelforge run' or a submit gives")
    ],
    url: UrlOpt = None,
    key: KeyOpt = None,
    data_dir: DataDirOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds to watch")] = 3600.0,
) -> None:
    """Follow a request live until it ends; print its output URL (exit 1 if it FAILED)."""
    settings = load_settings(data_dir=data_dir)
    base = server_url(url, settings)
    secret = api_key(key, settings)
    with server_errors(base):
        result = outcome(follow(base, secret, request_id, timeout=timeout), request_id, timeout)
    typer.echo(result["output"])


def follow(base: str, secret: str, request_id: str, *, timeout: float) -> dict[str, Any] | None:
    """Draw a request's progress from its live stream until it ends or `timeout` seconds
    pass. Returns the last event's data: the terminal one (COMPLETED with `output`,
    FAILED with `error`), the latest status when time ran out, or None when nothing came
    at all. Raises what `server_errors` reports."""
    reader = _Reader(f"{base}/v2/requests/{request_id}/stream", secret)
    reader.start()
    try:
        return _draw(reader.items, time.monotonic() + timeout)
    except KeyboardInterrupt:
        fail(f"stopped watching request {request_id}; it goes on: 'reelforge watch {request_id}'")
    finally:
        reader.stopped.set()  # a reader still waiting on the server is left to die with us


def outcome(final: dict[str, Any] | None, request_id: str, timeout: float) -> dict[str, Any]:
    """The COMPLETED event's data; any other end is one line on stderr and exit 1."""
    again = f"it goes on: 'reelforge watch {request_id}', or wait longer with --timeout"
    if final is None:
        fail(f"no event from the stream of request {request_id} in {timeout:g} s; {again}")
    if final["status"] == "FAILED":
        fail(f"request {request_id} FAILED: {final.get('error')}")
    if final["status"] != "COMPLETED":
        fail(f"request {request_id} still {final['status']} after {timeout:g} s; {again}")
    if not isinstance(final.get("output"), str):
        raise UnexpectedAnswer("a completed event without an output URL")
    return final


def _describe(data: dict[str, Any]) -> tuple[str, str]:
    """(stage, detail) of one event: ('denoising', 'step 4/10 · eta 3 s'),
    ('queued', '2 ahead in the queue · eta 40 s')."""
    details = []
    ahead = data.get("queue_position")  # jobs to be claimed before this one: 0 = next
    if ahead is not None:
        details.append("next in the queue" if ahead == 0 else f"{ahead} ahead in the queue")
    if data.get("step") is not None and data.get("steps"):
        details.append(f"step {data['step']}/{data['steps']}")
    if data.get("eta_seconds") is not None and data["status"] not in ("COMPLETED", "FAILED"):
        details.append(f"eta {_duration(float(data['eta_seconds']))}")
    stage = str(data.get("stage") or data["status"].lower())
    return stage, " · ".join(details)


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "<1 s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _draw(items: queue.Queue[Item], deadline: float) -> dict[str, Any] | None:
    """Show each event until the terminal one or the deadline: a bar on a terminal, one
    line per change elsewhere (a log, a CI job, a test)."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    latest: dict[str, Any] | None = None
    shown = ""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("connecting", total=1.0, detail="")
        while True:
            try:
                item = items.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return latest
            if isinstance(item, BaseException):
                raise item
            name, latest = item
            stage, detail = _describe(latest)
            progress = float(latest.get("progress") or 0.0)
            bar.update(task, completed=progress, description=stage, detail=detail)
            line = f"{latest['status']}  {stage}  {progress:.0%}  {detail}".rstrip()
            if not console.is_terminal and line != shown:
                console.print(line, markup=False, highlight=False, soft_wrap=True)
                shown = line
            if name in TERMINAL_EVENTS:
                return latest


class _Reader(threading.Thread):
    """Reads one request's stream into `items`, reconnecting with Last-Event-ID when the
    line drops, until the terminal event (the last item) or an error (handed over as the
    last item, for the main thread to report)."""

    def __init__(self, url: str, secret: str):
        super().__init__(name="reelforge-stream", daemon=True)
        self.url = url
        self.secret = secret
        self.items: queue.Queue[Item] = queue.Queue()
        self.stopped = threading.Event()

    def run(self) -> None:
        import httpx

        try:
            with httpx.Client(timeout=httpx.Timeout(10.0, read=READ_SECONDS)) as client:
                self._read(client)
        except BaseException as exc:  # reported by the main thread, in its words
            self.items.put(exc)

    def _read(self, client: httpx.Client) -> None:
        import httpx
        from httpx_sse import connect_sse

        last_id = ""
        retry: float | None = None  # the server's `retry:` advice, in seconds
        connected, misses = False, 0
        while not self.stopped.is_set():
            headers = {"x-api-key": self.secret}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                with connect_sse(client, "GET", self.url, headers=headers) as source:
                    _check(source.response)
                    connected = True
                    for event in source.iter_sse():
                        last_id = event.id or last_id
                        retry = event.retry / 1000 if event.retry is not None else retry
                        if event.event not in ("status", *TERMINAL_EVENTS):
                            continue  # an event a later server may add
                        misses = 0
                        self.items.put((event.event, _data(event.data)))
                        if event.event in TERMINAL_EVENTS:
                            return
                error: Exception = UnexpectedAnswer("a stream that ended before its request did")
            except httpx.TransportError as exc:
                error = exc
            # the line dropped (or the server restarts): resume where it left off
            misses += 1
            if not connected or misses > RECONNECTS:
                raise error
            self.stopped.wait(retry if retry is not None else min(0.5 * 2**misses, 5.0))


def _check(response: httpx.Response) -> None:
    """An error status as HTTPStatusError (with the server's message read), anything but
    an event stream as an UnexpectedAnswer."""
    if not response.is_success:
        response.read()
        response.raise_for_status()
    kind = response.headers.get("content-type", "").partition(";")[0].strip()
    if kind != "text/event-stream":
        raise UnexpectedAnswer(f"{kind or 'no content type'} where an event stream was expected")


def _data(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("status") not in STATES:
        raise UnexpectedAnswer(f"an event without a known state: {text[:200]}")
    return data
