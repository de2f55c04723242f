"""Downloading and decoding a job's input media (image_url, video_url, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from reelforge import uploads
from reelforge.errors import InputError
from reelforge.media import ingest
from reelforge.settings import Settings
from reelforge.storage import Storage, UrlSigner
from reelforge.task import Clip


class Inputs:
    """Where a job's input media come from: this server's storage for its own upload URLs
    (signed by `signer`), the network for anything else. Built once per worker."""

    def __init__(self, settings: Settings, signer: UrlSigner, storage: Storage):
        self.settings = settings
        self.signer = signer
        self.storage = storage

    def ingest_all(
        self,
        media_fields: Mapping[str, Literal["image", "video"]],
        params: Mapping[str, Any],
        workdir: Path,
    ) -> dict[str, Image.Image | Clip]:
        """Fetch and decode every media parameter that is set; errors name the field."""
        decoded: dict[str, Image.Image | Clip] = {}
        for field, kind in media_fields.items():
            url = params.get(field)
            if not url:
                continue
            try:
                decoded[field] = self._ingest_one(url, kind, workdir / field)
            except InputError as exc:
                raise InputError(f"{field}: {exc}") from exc
        return decoded

    def _ingest_one(
        self, url: str, kind: Literal["image", "video"], dest: Path
    ) -> Image.Image | Clip:
        settings = self.settings
        max_bytes = settings.max_image_bytes if kind == "image" else settings.max_video_bytes
        # an upload to this server is read from storage, not fetched over HTTP
        path = uploads.open_upload(
            url, dest, self.signer, self.storage, max_bytes=max_bytes
        ) or ingest.fetch(
            url,
            dest,
            max_bytes=max_bytes,
            timeout=settings.fetch_timeout,
            allow_private=settings.allow_private_urls,
        )
        return ingest.load_image(path) if kind == "image" else ingest.load_video(path)
