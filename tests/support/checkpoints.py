"""The tiny random LTX-2 checkpoints the engine tests load, built once and kept on disk.

Building one costs seconds of torch start-up and `save_pretrained`, and every xdist worker
and every run needs the same bytes: `build_tiny_checkpoint` is deterministic for a given
builder and library versions. So a checkpoint is built once under `.cache/test-checkpoints/`
in the repository, in a folder named after a hash of the builder's source and those
versions; a change to either builds a new one. A file lock makes parallel workers wait for
the one building it, and the folder appears complete or not at all (built beside it, then
renamed). Tests only read it: a test that changes files works on a copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from filelock import FileLock

from tests.support.server import REPO

CACHE = Path(os.environ.get("REELFORGE_TEST_CHECKPOINTS", REPO / ".cache" / "test-checkpoints"))
BUILDER = REPO / "reelforge" / "engines" / "tiny.py"
LIBRARIES = ("torch", "diffusers", "transformers")


def _key(variant: str) -> str:
    digest = hashlib.sha256(BUILDER.read_bytes())
    for name in LIBRARIES:
        digest.update(f"\0{name}={metadata.version(name)}".encode())
    return f"{variant}-{digest.hexdigest()[:16]}"


def _build(variant: str, path: Path) -> None:
    if variant == "tiny":
        # the plain one the way a user builds it: the CLI
        subprocess.run(
            [sys.executable, "-m", "reelforge", "checkpoint", "tiny", str(path)],
            check=True, cwd=REPO, capture_output=True, timeout=300,
        )  # fmt: skip
    else:
        from reelforge.engines.tiny import build_tiny_checkpoint

        build_tiny_checkpoint(path, distilled=True)


def tiny_checkpoint(distilled: bool = False) -> Path:
    """The folder of the tiny checkpoint (`distilled`: marked distilled, so the engine runs
    the distilled and two-stage schedules), built on first use."""
    variant = "tiny-distilled" if distilled else "tiny"
    path = CACHE / _key(variant)
    if (path / "model_index.json").is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=600):
        if (path / "model_index.json").is_file():  # built by another worker meanwhile
            return path
        building = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=CACHE))
        try:
            _build(variant, building / "checkpoint")
            assert (building / "checkpoint" / "model_index.json").is_file()
            os.rename(building / "checkpoint", path)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return path
