"""Files on a local directory: the embedded default for inputs and outputs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from reelforge.storage.base import READ_CHUNK_BYTES, check_key


class LocalStorage:
    """Objects under one root directory, addressed by slash-separated keys."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """Where `key` lives on disk; refuses keys that would escape the root."""
        check_key(key)
        # resolve() as well: a symlink inside the root must not lead out of it
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root) or target == self.root:
            raise ValueError(f"invalid storage key {key!r}")
        return target

    def put(self, key: str, source: Path) -> None:
        """Store a copy of `source` under `key`, atomically (readers never see half a file).
        On failure (a full disk) nothing is left behind: no partial file, no empty folder."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            self._prune(target.parent)
            raise

    def delete(self, key: str) -> None:
        """Remove `key`, and the folders it leaves empty (`outputs/<job id>/`)."""
        target = self.path(key)
        target.unlink(missing_ok=True)
        self._prune(target.parent)

    def _prune(self, folder: Path) -> None:
        """Remove `folder` and its parents while they are empty, up to the root's own
        folders (`outputs/`, `uploads/`), which stay."""
        while folder.is_relative_to(self.root) and self.root not in (folder, folder.parent):
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone already): the rest is someone else's
                return
            folder = folder.parent

    def read(self, key: str) -> Iterator[bytes]:
        """The file's bytes in chunks; FileNotFoundError at once if it is missing."""
        return _chunks(self.path(key).open("rb"))

    def local_path(self, key: str) -> Path | None:
        """The file itself (which may not exist: opening it then raises FileNotFoundError)."""
        return self.path(key)

    def presigned_url(self, key: str, expires_at: float) -> str | None:
        """Always None: a directory cannot sign, so the API signs its own /files URL."""
        check_key(key)
        return None


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(READ_CHUNK_BYTES):
            yield chunk
