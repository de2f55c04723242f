"""`reelforge replay ID`: submit a COMPLETED request again with its manifest's seed, wait
for it, and say whether the new mp4 matches the original byte for byte.

Exit status: 0 matched; 1 differed (or the replay failed); 2 not comparable (this server
runs another checkpoint or other versions than the original's manifest names)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from reelforge.cli.common import (
    DataDirOpt,
    KeyOpt,
    UrlOpt,
    api_key,
    console,
    load_settings,
    output,
    server_url,
)
from reelforge.cli.failures import fail, json_answer, server_errors

app = typer.Typer()

POLL_SECONDS = 0.5


@app.command()
def replay(
    request_id: Annotated[str, typer.Argument(help="the COMPLETED request to run again")],
    url: UrlOpt = None,
    key: KeyOpt = None,
    data_dir: DataDirOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the replay")] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the replay's result")] = False,
) -> None:
    """Run a request again with its seed and check the result byte for byte."""
    import httpx

    settings = load_settings(data_dir=data_dir)
    base = server_url(url, settings)
    headers = {"x-api-key": api_key(key, settings)}
    with server_errors(base), httpx.Client(headers=headers, timeout=30.0) as client:
        submitted = json_answer(client.post(f"{base}/v2/requests/{request_id}/replay"))
        console.print(f"replaying {request_id} as {submitted['request_id']}", highlight=False)
        result = _wait(client, submitted, timeout)
    if as_json:
        output().print_json(json.dumps(result))
    check = result.get("replay") or {}
    if result.get("status") != "COMPLETED":
        fail(f"the replay {result.get('request_id')} failed: {result.get('error')}")
    if not check.get("comparable"):
        why = "; ".join(check.get("differences") or ["not comparable"])
        console.print(f"not comparable: {why}", highlight=False)
        raise typer.Exit(2)
    if check.get("matched"):
        output().print(f"matched: {check['sha256']}", highlight=False)
        return
    output().print(
        f"differs: {check.get('sha256')} (original {check.get('original_sha256')})",
        highlight=False,
    )
    raise typer.Exit(1)


def _wait(client: Any, submitted: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(submitted["response_url"])
        body = response.json()
        if body.get("status") in ("COMPLETED", "FAILED"):
            return dict(body)
        if time.monotonic() > deadline:
            fail(f"the replay {submitted['request_id']} is still running after {timeout:g} s")
        time.sleep(POLL_SECONDS)
