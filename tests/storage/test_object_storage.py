"""ObjectStorage against moto, an emulator of the S3 protocol, on 127.0.0.1."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from reelforge.storage import ObjectStorage, Storage
from tests.storage import sigv4
from tests.storage.conftest import SECRET_KEY

KEY = "outputs/job-1/1.mp4"


def _file(tmp_path: Path, data: bytes, name: str = "clip.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_is_a_storage(object_storage: ObjectStorage) -> None:
    assert isinstance(object_storage, Storage)
    assert object_storage.local_path(KEY) is None


def test_put_then_read_back(object_storage: ObjectStorage, tmp_path: Path) -> None:
    data = os.urandom(2_500_000)  # several read chunks
    object_storage.put(KEY, _file(tmp_path, data))
    chunks = list(object_storage.read(KEY))
    assert b"".join(chunks) == data
    assert all(type(chunk) is bytes for chunk in chunks)


def test_delete_removes_the_object(object_storage: ObjectStorage, tmp_path: Path) -> None:
    object_storage.put(KEY, _file(tmp_path, b"video"))
    assert b"".join(object_storage.read(KEY)) == b"video"
    object_storage.delete(KEY)
    with pytest.raises(FileNotFoundError):
        object_storage.read(KEY)
    object_storage.delete(KEY)  # missing is fine


def test_read_missing_raises_before_streaming(object_storage: ObjectStorage) -> None:
    with pytest.raises(FileNotFoundError):
        object_storage.read("outputs/nope/1.mp4")


def test_keys_live_under_the_url_prefix(
    object_storage: ObjectStorage, s3_emulator: str, bucket: str, tmp_path: Path
) -> None:
    object_storage.put(KEY, _file(tmp_path, b"video"))
    whole_bucket = ObjectStorage.from_url(f"s3://{bucket}", s3_endpoint=s3_emulator)
    assert b"".join(whole_bucket.read(f"videos/{KEY}")) == b"video"
    with pytest.raises(FileNotFoundError):
        whole_bucket.read(KEY)


def test_bad_keys_are_refused(object_storage: ObjectStorage, tmp_path: Path) -> None:
    for key in ("../escape.mp4", "outputs/../../x", "/abs.mp4", "a//b", ""):
        with pytest.raises(ValueError, match="invalid storage key"):
            object_storage.put(key, _file(tmp_path, b"x"))
        with pytest.raises(ValueError, match="invalid storage key"):
            object_storage.presigned_url(key, time.time() + 60)


def test_presigned_get_needs_no_credentials(object_storage: ObjectStorage, tmp_path: Path) -> None:
    object_storage.put(KEY, _file(tmp_path, b"the mp4 bytes"))
    url = object_storage.presigned_url(KEY, time.time() + 600)
    assert url is not None
    answer = httpx.get(url)  # plain client: no AWS credentials, no Authorization header
    assert answer.status_code == 200
    assert answer.content == b"the mp4 bytes"
    assert answer.headers["content-type"] == "video/mp4"
    # what grants access is the signature: the same URL without it is refused
    assert httpx.get(url.split("?")[0]).status_code == 403


def test_presigned_url_is_valid_until_expires_at(
    object_storage: ObjectStorage, tmp_path: Path
) -> None:
    # moto does not check presigned signatures or expiry (see sigv4.py), so the URL is
    # checked the way S3 does it: signature over the query, then date + expires
    object_storage.put(KEY, _file(tmp_path, b"x"))
    expires_at = time.time() + 120
    url = object_storage.presigned_url(KEY, expires_at)
    assert url is not None
    assert urlsplit(url).path.endswith(f"/videos/{KEY}")
    assert sigv4.refusal(url, SECRET_KEY, now=time.time()) is None
    valid_until = sigv4.signed_at(url) + int(dict(parse_qsl(urlsplit(url).query))["X-Amz-Expires"])
    assert expires_at - 2 <= valid_until <= expires_at
    assert sigv4.refusal(url, SECRET_KEY, now=valid_until + 1) == "Request has expired"
    stretched = url.replace("X-Amz-Expires=", "X-Amz-Expires=9")
    assert sigv4.refusal(stretched, SECRET_KEY, now=time.time()) == "SignatureDoesNotMatch"
    assert sigv4.refusal(url, "another-secret", now=time.time()) == "SignatureDoesNotMatch"


def test_a_job_keeps_one_presigned_url(object_storage: ObjectStorage) -> None:
    """Signatures embed their signing time; polls must still answer one output URL."""
    expires_at = time.time() + 600
    first = object_storage.presigned_url(KEY, expires_at)
    time.sleep(1.1)  # X-Amz-Date has one-second resolution
    assert object_storage.presigned_url(KEY, expires_at) == first
    assert object_storage.presigned_url(KEY, expires_at + 60) != first


def test_signature_checker_agrees_with_botocore(s3_emulator: str, bucket: str) -> None:
    """The checker above is itself right: it accepts a URL botocore presigned."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        config=Config(signature_version="s3v4"),
        endpoint_url=s3_emulator,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET_KEY,
    )
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": KEY}, ExpiresIn=60
    )
    assert sigv4.refusal(url, SECRET_KEY, now=time.time()) is None
    assert sigv4.refusal(url, SECRET_KEY, now=time.time() + 61) == "Request has expired"


def test_no_presigned_url_outside_the_store_limits(object_storage: ObjectStorage) -> None:
    now = time.time()
    assert object_storage.presigned_url(KEY, now - 5) is None  # already expired
    assert object_storage.presigned_url(KEY, now + 8 * 24 * 3600) is None  # over 7 days
    assert object_storage.presigned_url(KEY, now + 6 * 24 * 3600) is not None


def test_expiry_delete_revokes_the_presigned_url(
    object_storage: ObjectStorage, tmp_path: Path
) -> None:
    """Retention (the API's reap_expired) calls storage.delete(job.output_key): after it,
    the object is gone from the bucket and its still-unexpired presigned URL answers 404."""
    object_storage.put(KEY, _file(tmp_path, b"x"))
    url = object_storage.presigned_url(KEY, time.time() + 600)
    assert url is not None and httpx.get(url).status_code == 200
    object_storage.delete(KEY)
    with pytest.raises(FileNotFoundError):
        object_storage.read(KEY)
    assert httpx.get(url).status_code == 404
