"""A storage double for a full disk: while `full` is set, `put` raises ENOSPC, as
`shutil.copyfile` does when the disk fills up; everything else goes to a real store."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

from reelforge.storage.local import LocalStorage


class FullDisk:
    def __init__(self, inner: LocalStorage):
        self.inner = inner
        self.full = True
        self.refused: list[str] = []  # keys whose put failed

    def put(self, key: str, source: Path) -> None:
        if self.full:
            self.refused.append(key)
            raise OSError(errno.ENOSPC, "No space left on device", key)
        self.inner.put(key, source)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def read(self, key: str) -> Iterator[bytes]:
        return self.inner.read(key)

    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(key)

    def presigned_url(self, key: str, expires_at: float) -> str | None:
        return self.inner.presigned_url(key, expires_at)
