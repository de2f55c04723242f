"""The whole server on object storage: outputs go to the S3-protocol emulator (moto),
clients get presigned URLs, the sync call relays the bytes, and expiry deletes objects."""

from __future__ import annotations

import time

import httpx
from segmind import SegmindClient

from tests.storage.conftest import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.checks import assert_video
from tests.support.seeds import payloads
from tests.support.server import FAKE_ENGINE

T2V = "pixverse-text2video"


def _objects(emulator: str, bucket: str) -> list[str]:
    listing = httpx.get(f"{emulator}/{bucket}?list-type=2").text
    return [part.split("</Key>")[0] for part in listing.split("<Key>")[1:]]


def test_outputs_live_in_the_bucket(serve, tmp_path, s3_emulator, bucket, media_server):
    server = serve(
        tmp_path / "data",
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_STORAGE_URL=f"s3://{bucket}/prod",
        REELFORGE_S3_ENDPOINT=s3_emulator,
        # long enough for both jobs on a loaded machine: their objects must all be there
        # until the checks below are done
        REELFORGE_RETENTION_SECONDS="30",
        REELFORGE_REAP_SECONDS="0.5",
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_REGION=REGION,
    ).start()
    try:
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1", timeout=120)
        body = payloads(media_server.url)[T2V]
        result = client.run(T2V, **body)
        assert result["output"].startswith(f"{s3_emulator}/{bucket}/prod/outputs/")
        assert "X-Amz-Signature=" in result["output"]  # presigned by the store, not by us
        video = httpx.get(result["output"])
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        (tmp_path / "async.mp4").write_bytes(video.content)
        assert_video(tmp_path / "async.mp4", 960, 540, 121, has_audio=False)
        sync = client.run_sync(T2V, **body)
        (tmp_path / "sync.mp4").write_bytes(sync.content)
        assert_video(tmp_path / "sync.mp4", 960, 540, 121, has_audio=False)
        # each mp4 with its thumbnail beside it, presigned by the store too
        thumbnail = httpx.get(result["thumbnail"])
        assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
        assert result["thumbnail"].startswith(f"{s3_emulator}/{bucket}/prod/outputs/")
        stored = _objects(s3_emulator, bucket)
        assert len(stored) == 4
        assert {key.removesuffix(".mp4") for key in stored if key.endswith(".mp4")} == {
            key.removesuffix(".jpg") for key in stored if key.endswith(".jpg")
        }
        assert not list((tmp_path / "data").rglob("*.mp4"))  # nothing kept on local disk
        deadline = time.monotonic() + 90
        while _objects(s3_emulator, bucket) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _objects(s3_emulator, bucket) == []  # retention deleted the objects
    finally:
        server.stop()
