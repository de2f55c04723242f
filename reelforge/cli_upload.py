"""`reelforge upload FILE...`: store input files on a Reelforge server (POST /v1/files) and
print their URLs, ready for image_url / video_url."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)


def upload(
    files: Annotated[list[Path], typer.Argument(help="PNG, JPEG, WebP, MP4, MOV, WebM or MKV")],
    url: Annotated[str, typer.Option(envvar="REELFORGE_URL", help="server base URL")] = (
        "http://127.0.0.1:8000"
    ),
    key: Annotated[str | None, typer.Option(envvar="SEGMIND_API_KEY", help="API key")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="embedded data directory (admin key)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds the upload may take")] = 600.0,
) -> None:
    """Upload input files; prints one URL per file (valid for the server's retention)."""
    import httpx

    from reelforge import accounts
    from reelforge.settings import Settings

    for path in files:
        if not path.is_file():
            err.print(f"[red]no such file[/red]: {path}")
            raise typer.Exit(1)
    api_key = key or accounts.admin_key(Settings(**({"data_dir": data_dir} if data_dir else {})))
    handles = [path.open("rb") for path in files]
    try:
        parts = [("file", (path.name, handle)) for path, handle in zip(files, handles, strict=True)]
        response = httpx.post(
            url.rstrip("/") + "/v1/files",
            files=parts,
            headers={"x-api-key": api_key},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]could not reach {url}[/red]: {exc}")
        raise typer.Exit(1) from None
    finally:
        for handle in handles:
            handle.close()
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code != 200:
        err.print(f"[red]refused ({response.status_code})[/red]: {body.get('error', body)}")
        raise typer.Exit(1)
    for path, file_url in zip(files, body["file_urls"], strict=True):
        err.print(f"{path} ->")
        print(file_url)
