"""The one interface the API and the worker use for stored files, whatever keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

READ_CHUNK_BYTES = 1024 * 1024  # streaming granularity for answers read through Reelforge


@runtime_checkable
class Storage(Protocol):
    """Objects addressed by slash-separated keys such as `outputs/{job_id}/{attempt}.mp4`.

    Every method raises ValueError for a key that `check_key` refuses.
    """

    def put(self, key: str, source: Path) -> None:
        """Store a copy of the file `source` under `key`; readers never see half an object."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; a key that does not exist is not an error."""
        ...

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks. Raises FileNotFoundError at once (before the first
        chunk is asked for) when `key` does not exist, so a route can still answer 404."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file on this machine holding `key` (so HTTP can serve it with Range support),
        or None when the store is remote."""
        ...

    def presigned_url(self, key: str, expires_at: float) -> str | None:
        """A URL anyone can GET until `expires_at` (epoch seconds), signed by the store
        itself; None when the store cannot sign it (then Reelforge signs its own URL)."""
        ...


def check_key(key: str) -> str:
    """`key` if it is a plain relative key; ValueError otherwise. Refusing `..`, empty and
    absolute segments keeps every store's keys inside its root, bucket or prefix."""
    parts = key.split("/")
    if (
        not key
        or "\\" in key
        or any(part in ("", ".", "..") for part in parts)
        or any(ord(char) < 32 for char in key)
    ):
        raise ValueError(f"invalid storage key {key!r}")
    return key
