"""`reelforge run SLUG -p name=value ...`: one video through the official segmind SDK,
its progress drawn from the server's live stream (watch.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

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
from reelforge.cli.failures import server_errors
from reelforge.cli.watch import follow, outcome

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
    """Generate one video through the official segmind SDK, with a live progress bar."""
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
        result = outcome(
            follow(base, secret, job.request_id, timeout=timeout), job.request_id, timeout
        )
        video = httpx.get(result["output"], timeout=60.0)
        video.raise_for_status()
    output.write_bytes(video.content)
    console.print(f"wrote {output} ({json.dumps(result.get('video'))}, seed {result.get('seed')})")
