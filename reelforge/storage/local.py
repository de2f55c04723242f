"""Files on a local directory: the embedded default for inputs and outputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class LocalStorage:
    """Objects under one root directory, addressed by slash-separated keys."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where `key` lives on disk; refuses keys that would escape the root."""
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root) or target == self.root:
            raise ValueError(f"invalid storage key {key!r}")
        return target

    def put(self, key: str, source: Path) -> None:
        """Store a copy of `source` under `key`, atomically (readers never see half a file)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
