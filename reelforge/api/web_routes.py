"""The web playground's files: GET / answers reelforge/web/static/index.html, GET /web/{path}
the other files of that folder. No key (the page asks for one and sends it itself), not in
the OpenAPI document, `Cache-Control: no-cache` (a browser revalidates, so an upgraded
server is never shown with yesterday's script), and a Content-Security-Policy that lets
the page load and fetch from this server alone: nothing of it can reach another host,
which a browser then enforces rather than a review."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

import reelforge.web
from reelforge.errors import NotFound
from reelforge.storage import Storage

STATIC = Path(reelforge.web.__file__).parent / "static"
# Browsers refuse a module script or a stylesheet of the wrong type (with nosniff): the
# types are ours, not those of whatever /etc/mime.types the host has
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
_PROBE_KEY = "outputs/web-playground/origin.mp4"  # never stored: only its URL is made


class ContentPolicy:
    """The Content-Security-Policy of the page: 'self' for everything, plus `blob:` and
    `data:` for previews of the user's own files in <img> and <video>. Outputs on an
    object store are fetched by <video>/<img> straight from the store's presigned URLs,
    another host: its origin joins img-src and media-src, and nothing else (no script,
    style or fetch may go there). The origin is the one the store's presigned URLs really
    carry (virtual-hosted S3, a MinIO endpoint, GCS, Azure), taken from a URL it signs; a
    store that cannot presign has its outputs served by this server, under 'self'."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self._header: str | None = None

    def header(self) -> str:
        if self._header is not None:
            return self._header
        origin = self._storage_origin()
        media = " ".join(["'self'", "blob:", "data:", *([origin] if origin else [])])
        header = "; ".join(
            [
                "default-src 'self'",
                f"img-src {media}",
                f"media-src {media}",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                "frame-ancestors 'self'",
            ]
        )
        if origin:  # local storage asks again (it costs nothing); a found origin stays
            self._header = header
        return header

    def _storage_origin(self) -> str | None:
        url = self.storage.presigned_url(_PROBE_KEY, time.time() + 3600)
        if not url:
            return None
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _headers(policy: ContentPolicy) -> dict[str, str]:
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": policy.header(),
        "X-Content-Type-Options": "nosniff",
    }


def _media_type(path: str | os.PathLike[str]) -> str:
    return MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


class PlaygroundFiles(StaticFiles):
    """StaticFiles with our media types and headers; a missing folder is a 404, not a 500."""

    def __init__(self, directory: Path, policy: ContentPolicy):
        super().__init__(directory=directory, check_dir=False)
        self.policy = policy

    async def check_config(self) -> None:
        """Nothing to check: a package built without the page answers 404s."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):  # answered here: `Allow` is ours to say
            body = {"error": "Method Not Allowed"}
            return JSONResponse(body, 405, headers={"Allow": "GET, HEAD"})
        return await super().get_response(path, scope)

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=_media_type(full_path),
            headers=_headers(self.policy),
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def install(app: FastAPI, storage: Storage, directory: Path = STATIC) -> None:
    """Serve the playground in `directory` (the package's own) at / and /web/."""
    policy = ContentPolicy(storage)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index() -> FileResponse:
        """The playground page."""
        page = directory / "index.html"
        if not page.is_file():
            raise NotFound("The web playground is not installed in this build")
        return FileResponse(page, media_type=MEDIA_TYPES[".html"], headers=_headers(policy))

    app.mount("/web", PlaygroundFiles(directory, policy), name="web")
