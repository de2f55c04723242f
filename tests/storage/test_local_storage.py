"""LocalStorage: the embedded default, a directory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reelforge.storage import LocalStorage, Storage

KEY = "outputs/job-1/1.mp4"


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def test_round_trip(storage: LocalStorage, tmp_path: Path) -> None:
    assert isinstance(storage, Storage)
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"v" * 3_000_000)
    storage.put(KEY, source)
    assert (storage.root / KEY).is_file()
    assert b"".join(storage.read(KEY)) == source.read_bytes()
    assert storage.local_path(KEY) == storage.root / KEY
    assert not list(storage.root.rglob("*.partial"))
    storage.delete(KEY)
    assert not (storage.root / KEY).exists()
    with pytest.raises(FileNotFoundError):
        storage.read(KEY)
    storage.delete(KEY)  # missing is fine


def test_read_missing_raises_before_streaming(storage: LocalStorage) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read(KEY)


def test_never_presigns(storage: LocalStorage) -> None:
    assert storage.presigned_url(KEY, time.time() + 60) is None


@pytest.mark.parametrize(
    "key", ["../escape", "outputs/../../escape", "/etc/passwd", "", ".", "a//b", "a\\b", "a\nb"]
)
def test_keys_cannot_escape_the_root(storage: LocalStorage, key: str) -> None:
    for method in (storage.path, storage.delete, storage.read, storage.local_path):
        with pytest.raises(ValueError, match="invalid storage key"):
            method(key)


def test_symlinks_cannot_escape_the_root(storage: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (storage.root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.path("link/secret")
