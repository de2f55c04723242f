"""Choosing the store from the settings: one place, so the API and every worker agree."""

from __future__ import annotations

from urllib.parse import urlsplit

from reelforge.settings import Settings
from reelforge.storage.base import Storage
from reelforge.storage.local import LocalStorage
from reelforge.storage.objects import SCHEMES, ObjectStorage

ACCEPTED = "s3://bucket[/prefix], gs://bucket[/prefix] or az://container[/prefix]"


def open_storage(settings: Settings) -> Storage:
    """LocalStorage in `resolved_storage_dir` unless REELFORGE_STORAGE_URL names an object
    store. Raises ValueError, naming the variable, for a URL it cannot use."""
    url = settings.storage_url
    if not url:
        return LocalStorage(settings.resolved_storage_dir)
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.netloc:
        raise ValueError(f"REELFORGE_STORAGE_URL={url!r} is not {ACCEPTED}")
    try:
        return ObjectStorage.from_url(
            url, s3_endpoint=settings.s3_endpoint, s3_region=settings.s3_region
        )
    except ValueError as exc:
        raise ValueError(f"REELFORGE_STORAGE_URL: {exc}") from None
