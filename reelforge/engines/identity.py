"""A checkpoint's identity: a content hash of its files, computed once when a worker loads it.

    identity = of_checkpoint("/models/ltx-2")      # or a hub id: its local snapshot
    identity.sha256, identity.source

The hash covers every file under the checkpoint's directory (its relative path, its size
and a sha256 of its bytes, in path order), so two copies of the same weights anywhere have
the same identity and any changed byte gives another. Reading a full-size checkpoint (about
60 GB) takes about a minute at a disk's 1 GB/s: once per worker start. A hub id is hashed
through the snapshot huggingface_hub keeps locally; one that is not there (nothing
downloaded yet) has no hash, and its results are then neither compared nor cached.

No torch here: `reelforge.worker` calls it, and tests call it on any directory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Identity:
    """Which weights made a result."""

    sha256: str | None  # "sha256:<hex>" of the checkpoint's files; None: not known
    source: str  # where they came from: a directory, "hub:owner/name@revision", an engine

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "source": self.source}


def of_directory(path: Path) -> str:
    """The content hash of every file under `path` (symlinks followed, as loaders do).
    Hidden files and directories are left out: `.cache/huggingface/` (a download's
    timestamps and etags), `.DS_Store` and the like are not weights."""
    digest = hashlib.sha256()
    files = sorted(
        (
            file
            for file in path.rglob("*")
            if file.is_file()
            and not any(part.startswith(".") for part in file.relative_to(path).parts)
        ),
        key=lambda file: file.relative_to(path).as_posix(),
    )
    for file in files:
        own = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                own.update(chunk)
        name = file.relative_to(path).as_posix()
        digest.update(f"{name}\0{file.stat().st_size}\0{own.hexdigest()}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def of_checkpoint(source: str) -> Identity:
    """The identity of what `from_pretrained(source)` loads: a directory's files, or the
    local snapshot of a hub id."""
    path = Path(source).expanduser()
    if path.is_dir():
        return Identity(of_directory(path), str(path.resolve()))
    try:
        from huggingface_hub import snapshot_download

        local = Path(snapshot_download(source, local_files_only=True))
    except Exception:  # not downloaded, or no hub client: the identity is unknown
        return Identity(None, f"hub:{source}")
    return Identity(of_directory(local), f"hub:{source}@{local.name}")


def of_engine(engine: Any) -> Identity:
    """An engine's own `identity` when it has one (a custom engine, the tests' fake), else
    that of its `checkpoint` (the LTX-2 engine), else unknown."""
    own = getattr(engine, "identity", None)
    if isinstance(own, Identity):
        return own
    checkpoint = getattr(engine, "checkpoint", None)
    source = getattr(checkpoint, "source", None)
    if isinstance(source, str):
        return of_checkpoint(source)
    return Identity(None, str(getattr(engine, "name", "unknown engine")))
