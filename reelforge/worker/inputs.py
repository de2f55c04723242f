"""Downloading and decoding a job's input media (image_url, video_url, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from reelforge.errors import InputError
from reelforge.media import ingest, uploads
from reelforge.settings import Settings
from reelforge.task import Clip


def ingest_all(
    media_fields: Mapping[str, Literal["image", "video"]],
    params: Mapping[str, Any],
    workdir: Path,
    settings: Settings,
) -> dict[str, Image.Image | Clip]:
    """Fetch and decode every media parameter that is set; errors name the field."""
    decoded: dict[str, Image.Image | Clip] = {}
    for field, kind in media_fields.items():
        url = params.get(field)
        if not url:
            continue
        try:
            decoded[field] = _ingest_one(url, kind, workdir / field, settings)
        except InputError as exc:
            raise InputError(f"{field}: {exc}") from exc
    return decoded


def _ingest_one(
    url: str, kind: Literal["image", "video"], dest: Path, settings: Settings
) -> Image.Image | Clip:
    max_bytes = settings.max_image_bytes if kind == "image" else settings.max_video_bytes
    # an upload to this server is read from storage, not fetched over HTTP
    path = uploads.open_upload(url, dest, settings, max_bytes=max_bytes) or ingest.fetch(
        url,
        dest,
        max_bytes=max_bytes,
        timeout=settings.fetch_timeout,
        allow_private=settings.allow_private_urls,
    )
    return ingest.load_image(path) if kind == "image" else ingest.load_video(path)
