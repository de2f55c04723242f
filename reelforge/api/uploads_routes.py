"""Uploading input files: POST /v1/files (and POST /upload-asset, the segmind SDK's path).

Two bodies are accepted:
  * JSON `{"data_urls": ["data:image/png;base64,...", ...]}`, what the SDK's
    `files.upload` sends (to a fixed segmind host: see the README);
  * multipart/form-data with one or more file fields (`curl -F file=@cat.png`).
The answer is `{"file_urls": [...], "message": ...}`: signed URLs to this server, valid for
the retention, usable by any client and as image_url/video_url in any endpoint (the worker
reads them straight from storage: `reelforge.uploads`). The whole body is capped
while it streams in; every file's format is sniffed from its content and must be on the
allow-list, within that kind's size cap.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from reelforge import uploads
from reelforge.api import body
from reelforge.api.deps import BaseUrlDep, OwnerDep, Services, ServicesDep
from reelforge.errors import BadRequest, InputError
from reelforge.media import ingest

router = APIRouter()

MAX_FILES = 10  # per request


class Uploaded(BaseModel):
    file_urls: list[str]
    message: str


_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data_urls"],
                    "properties": {
                        "data_urls": {
                            "type": "array",
                            "items": {
                                "type": "string",
                                "pattern": "^data:",
                                "description": "data:<type>;base64,...",
                            },
                            "minItems": 1,
                            "maxItems": MAX_FILES,
                        }
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "maxItems": MAX_FILES,
                        }
                    },
                }
            },
        },
    }
}


@router.post("/v1/files", response_model=Uploaded, openapi_extra=_DOC)  # answers: api/openapi.py
async def upload_files(
    request: Request, owner: OwnerDep, services: ServicesDep, base_url: BaseUrlDep
) -> Uploaded:
    """Store input files for the caller's account; answers their URLs."""
    return await _upload(request, owner, services, base_url)


@router.post("/upload-asset", response_model=Uploaded, openapi_extra=_DOC)
async def upload_asset(
    request: Request, owner: OwnerDep, services: ServicesDep, base_url: BaseUrlDep
) -> Uploaded:
    """The same as POST /v1/files, at the path of segmind's storage API."""
    return await _upload(request, owner, services, base_url)


async def _upload(request: Request, owner: str, services: Services, base_url: str) -> Uploaded:
    settings = services.settings
    limit = _body_limit(services)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    with tempfile.TemporaryDirectory(prefix="reelforge-upload-") as tmp:
        workdir = Path(tmp)
        if content_type == "multipart/form-data":
            files = await _multipart(request, workdir, limit)
        else:  # JSON, as the SDK sends it
            files = await _data_urls(request, workdir, limit, services)
        for name, path in files:
            try:
                uploads.check_file(path, settings)
            except BadRequest as exc:
                raise BadRequest(f"{name}: {exc.message}") from None
        stored = [
            await run_in_threadpool(
                uploads.store, services.db, services.storage, owner, path, settings
            )
            for _, path in files
        ]
    urls = [services.signer.url(base_url, key, expires) for key, expires in stored]
    return Uploaded(file_urls=urls, message=f"{len(urls)} file(s) uploaded")


def _body_limit(services: Services) -> int:
    """The largest body accepted: one video at its cap, base64-encoded, plus room."""
    largest = max(services.settings.max_image_bytes, services.settings.max_video_bytes)
    return largest * 4 // 3 + 1_000_000


async def _multipart(request: Request, workdir: Path, limit: int) -> list[tuple[str, Path]]:
    parser = MultiPartParser(
        request.headers, body.stream(request, limit), max_files=MAX_FILES, max_fields=MAX_FILES
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"malformed multipart body: {exc.message}") from None
    files: list[tuple[str, Path]] = []
    try:
        for field, value in form.multi_items():
            if not isinstance(value, UploadFile):
                continue
            path = workdir / f"{len(files)}.bin"
            with path.open("wb") as out:
                while chunk := await value.read(1024 * 1024):
                    out.write(chunk)
            files.append((f"{field} ({value.filename or 'no name'})", path))
    finally:
        await form.close()
    if not files:
        raise BadRequest("no file in the multipart body: send e.g. file=@picture.png")
    return files


async def _data_urls(
    request: Request, workdir: Path, limit: int, services: Services
) -> list[tuple[str, Path]]:
    parsed = await body.read_json(request, limit)
    data_urls = parsed.get("data_urls") if isinstance(parsed, dict) else None
    if not isinstance(data_urls, list) or not data_urls:
        raise BadRequest(
            'send {"data_urls": ["data:image/png;base64,...", ...]} as JSON, '
            "or the files as multipart/form-data"
        )
    if len(data_urls) > MAX_FILES:
        raise BadRequest(f"data_urls: at most {MAX_FILES} files per request")
    settings = services.settings
    cap = max(settings.max_image_bytes, settings.max_video_bytes)
    files: list[tuple[str, Path]] = []
    for index, url in enumerate(data_urls):
        name = f"data_urls[{index}]"
        if not isinstance(url, str) or ingest.url_scheme(url) != "data":
            raise BadRequest(f"{name}: must be a data: URL (pass a web URL to the endpoint)")
        path = workdir / f"{index}.bin"
        try:
            await run_in_threadpool(
                ingest.fetch, url, path, max_bytes=cap, timeout=60.0, allow_private=False
            )
        except InputError as exc:
            raise BadRequest(f"{name}: {exc}") from None
        files.append((name, path))
    return files
