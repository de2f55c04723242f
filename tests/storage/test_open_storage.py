"""open_storage: REELFORGE_STORAGE_URL parsing and its error messages (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from obstore.store import AzureStore, GCSStore, S3Store

from reelforge.settings import Settings
from reelforge.storage import LocalStorage, ObjectStorage, open_storage


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_default_is_the_local_directory(tmp_path: Path) -> None:
    storage = open_storage(_settings(tmp_path))
    assert isinstance(storage, LocalStorage)
    assert storage.root == (tmp_path / "files").resolve()
    custom = open_storage(_settings(tmp_path, storage_dir=tmp_path / "elsewhere"))
    assert isinstance(custom, LocalStorage) and custom.root == (tmp_path / "elsewhere").resolve()


def test_setting_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFORGE_STORAGE_URL", "s3://media/outputs")
    monkeypatch.setenv("REELFORGE_S3_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("REELFORGE_S3_REGION", "eu-west-3")
    storage = open_storage(_settings(tmp_path))
    assert isinstance(storage, ObjectStorage) and isinstance(storage.store, S3Store)
    assert storage.store.prefix == "outputs"
    assert storage.store.config["endpoint"] == "http://127.0.0.1:9000"
    assert storage.store.config["region"] == "eu-west-3"
    options = storage.store.client_options or {}
    assert str(options.get("allow_http")).lower() == "true"  # plain-HTTP endpoint allowed


@pytest.mark.parametrize(
    "url", ["/srv/videos", "file:///srv/videos", "ftp://host/x", "s3://", "s3:///prefix", "gs:/b"]
)
def test_unusable_urls_are_refused_clearly(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError) as error:
        open_storage(_settings(tmp_path, storage_url=url))
    message = str(error.value)
    assert "REELFORGE_STORAGE_URL" in message
    assert "s3://bucket[/prefix], gs://bucket[/prefix] or az://container[/prefix]" in message
    assert "\n" not in message


def test_gcs_url(tmp_path: Path) -> None:
    storage = open_storage(_settings(tmp_path, storage_url="gs://media/reelforge"))
    assert isinstance(storage, ObjectStorage) and isinstance(storage.store, GCSStore)
    assert storage.store.prefix == "reelforge"


def test_azure_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(ValueError, match="REELFORGE_STORAGE_URL: cannot open storage") as error:
        open_storage(_settings(tmp_path, storage_url="az://media/reelforge"))
    assert "\n" not in str(error.value)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "reelforgetest")
    storage = open_storage(_settings(tmp_path, storage_url="az://media/reelforge"))
    assert isinstance(storage, ObjectStorage) and isinstance(storage.store, AzureStore)
    assert storage.store.prefix == "reelforge"
