"""`reelforge upload FILE...`: store input files on a Reelforge server (POST /v1/files) and
print their URLs, ready for image_url / video_url."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from reelforge.cli.failures import UnexpectedAnswer, fail, json_answer, server_errors

app = typer.Typer()


@app.command()
def upload(
    files: Annotated[list[Path], typer.Argument(help="PNG, JPEG, WebP, MP4, MOV, WebM or MKV")],
    url: UrlOpt = None,
    key: KeyOpt = None,
    data_dir: DataDirOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds the upload may take")] = 600.0,
) -> None:
    """Upload input files; prints one URL per file (valid for the server's retention)."""
    import httpx

    for path in files:
        if not path.is_file():
            fail(f"no such file: {path}")
    settings = load_settings(data_dir=data_dir)
    base = server_url(url, settings)
    secret = api_key(key, settings)
    handles = [path.open("rb") for path in files]
    try:
        parts = [("file", (path.name, handle)) for path, handle in zip(files, handles, strict=True)]
        with server_errors(base):
            response = httpx.post(
                base + "/v1/files", files=parts, headers={"x-api-key": secret}, timeout=timeout
            )
            file_urls = json_answer(response).get("file_urls")
            if not isinstance(file_urls, list) or len(file_urls) != len(files):
                raise UnexpectedAnswer(f"{file_urls!r} where one URL per file was expected")
    finally:
        for handle in handles:
            handle.close()
    for path, file_url in zip(files, file_urls, strict=True):
        console.print(f"{path} ->")
        print(file_url)
