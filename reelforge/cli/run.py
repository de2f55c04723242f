"""`reelforge run SLUG -p name=value ...`: one video through the official segmind SDK."""

from __future__ import annotations

import json
import time
from pathlib import Path
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
    from segmind.v2 import AsyncJob

app = typer.Typer()


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"expected name=value, got {text!r}")
    try:  # numbers, booleans and null as JSON; anything else is a string
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


@app.command()
def run(
    slug: Annotated[str, typer.Argument(help="e.g. pixverse-v6")],
    param: Annotated[list[str], typer.Option("-p", "--param", help="name=value")] = [],  # noqa: B006
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the mp4")] = Path(
        "out.mp4"
    ),
    url: UrlOpt = None,
    key: KeyOpt = None,
    data_dir: DataDirOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 3600.0,
) -> None:
    """Generate one video through the official segmind SDK, with a progress bar."""
    import httpx
    from segmind import SegmindClient

    params = dict(_parse_param(item) for item in param)
    settings = load_settings(data_dir=data_dir)
    base = server_url(url, settings)
    secret = api_key(key, settings)
    with server_errors(base):
        client = SegmindClient(api_key=secret, base_url=base + "/v1", timeout=60.0)
        job = client.submit_async(slug, **params)
        console.print(f"request {job.request_id}")
        status = _follow(job, timeout)
        if status["status"] == "FAILED":
            fail(f"request {job.request_id} FAILED: {status.get('error')}")
        if status["status"] != "COMPLETED":
            fail(
                f"request {job.request_id} still {status['status']} after {timeout:g} s; "
                f"it goes on: poll {job.status_url}, or wait longer with --timeout"
            )
        result = job.result()
        if not isinstance(result.get("output"), str):
            raise UnexpectedAnswer("a COMPLETED result without an output URL")
        video = httpx.get(result["output"], timeout=60.0)
        video.raise_for_status()
    output.write_bytes(video.content)
    console.print(f"wrote {output} ({json.dumps(result.get('video'))}, seed {result.get('seed')})")


def _follow(job: AsyncJob, timeout: float) -> dict[str, Any]:
    """Poll the job's status, drawing its progress, until it ends or `timeout` passes."""
    from rich.progress import Progress

    deadline = time.monotonic() + timeout
    with Progress(console=console) as bar:
        task = bar.add_task("queued", total=1.0)
        while True:
            status = job.status()
            if status.get("status") not in ("QUEUED", "PROCESSING", "COMPLETED", "FAILED"):
                raise UnexpectedAnswer(f"a status without a known state: {json.dumps(status)}")
            bar.update(
                task, completed=status.get("progress", 0.0), description=status.get("stage", "")
            )
            if status["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
                return status
            time.sleep(0.5)
