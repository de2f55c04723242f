"""An S3-protocol emulator for the storage tests: moto's server mode (moto, an emulator of
the S3 protocol, not real S3 or MinIO), started once on 127.0.0.1; each test gets its own
bucket and fake credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from reelforge.settings import Settings
from reelforge.storage import ObjectStorage, open_storage

ACCESS_KEY = "reelforge-test-key"
SECRET_KEY = "reelforge-test-secret"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_emulator() -> Iterator[str]:
    """Base URL of the running emulator, e.g. http://127.0.0.1:40123."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials the standard way (AWS_* variables), nothing else from the host."""
    for name in ("AWS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def bucket(s3_emulator: str) -> str:
    """A new empty bucket (the emulator accepts an unsigned CreateBucket)."""
    name = f"reelforge-{uuid.uuid4().hex[:12]}"
    httpx.put(f"{s3_emulator}/{name}").raise_for_status()
    return name


@pytest.fixture
def object_storage(s3_emulator: str, bucket: str, aws_env: None, tmp_path: Path) -> ObjectStorage:
    """ObjectStorage at s3://{bucket}/videos, opened the way the API and worker open it."""
    settings = Settings(
        data_dir=tmp_path / "data",
        storage_url=f"s3://{bucket}/videos",
        s3_endpoint=s3_emulator,
        s3_region=REGION,
    )
    storage = open_storage(settings)
    assert isinstance(storage, ObjectStorage)
    return storage
