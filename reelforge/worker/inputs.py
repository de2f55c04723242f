"""Downloading and decoding a job's input media (image_url, video_url, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from reelforge import uploads
from reelforge.errors import InputError
from reelforge.media import ingest
from reelforge.media.decode import SizeFor
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
        size_for: SizeFor | None = None,
    ) -> dict[str, Image.Image | Clip]:
        """Fetch and decode every media parameter that is set, each no larger than the
        job needs (`size_for`: see `media.decode.load_video`); errors name the field."""
        decoded: dict[str, Image.Image | Clip] = {}
        for field, kind in media_fields.items():
            url = params.get(field)
            if not url:
                continue
            try:
                decoded[field] = self._ingest_one(url, kind, workdir / field, size_for)
            except InputError as exc:
                raise InputError(f"{field}: {exc}") from exc
        return decoded

    def _ingest_one(
        self, url: str, kind: Literal["image", "video"], dest: Path, size_for: SizeFor | None
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
        if kind == "image":
            return ingest.load_image(path, size_for=size_for)
        return ingest.load_video(
            path, size_for=size_for, max_decoded_bytes=settings.max_decoded_input_bytes
        )


def decoded_bytes(media: Mapping[str, Image.Image | Clip]) -> int:
    """The memory a job's decoded inputs take."""
    total = 0
    for value in media.values():
        if isinstance(value, Clip):
            total += value.frames.nbytes + (value.audio.nbytes if value.audio is not None else 0)
        else:
            total += value.width * value.height * len(value.getbands())
    return total
