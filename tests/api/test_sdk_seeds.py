"""Every seed page's payload through the official segmind SDK, three ways, against a
real server (on the fast test engine, and on the real LTX-2 engine with the tiny
checkpoint); every mp4 opened with PyAV and checked against the request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from segmind import SegmindClient

from tests.support.checks import assert_video
from tests.support.seeds import EXPECTED, payloads

SLUGS = sorted(EXPECTED)


@pytest.fixture(params=["test-engine", "ltx2"], scope="module")
def sdk_server(request):
    return request.getfixturevalue("server" if request.param == "test-engine" else "ltx2_server")


@pytest.fixture
def client(sdk_server) -> SegmindClient:
    # sync video calls outlive the SDK's 30 s default timeout
    return SegmindClient(api_key=sdk_server.key, base_url=f"{sdk_server.base_url}/v1", timeout=300)


def _download(url: str, path: Path) -> Path:
    response = httpx.get(url, timeout=60)  # no API key: the URL is signed
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    path.write_bytes(response.content)
    return path


@pytest.mark.parametrize("slug", SLUGS)
def test_submit_async_wait(slug, client, media_server, tmp_path):
    payload = payloads(media_server.url)[slug]
    job = client.submit_async(slug, **payload)
    assert job.submit_response["status"] == "QUEUED"
    assert job.submit_response["poll_url"].endswith(f"/v1/requests/{job.request_id}")
    result = job.wait(timeout=300, interval=0.2)
    assert result["status"] == "COMPLETED"
    poll = httpx.get(job.submit_response["poll_url"], headers={"x-api-key": client.api_key})
    assert poll.status_code == 200 and poll.json()["output"] == result["output"]
    width, height, frames, audio = EXPECTED[slug]
    opened = assert_video(
        _download(result["output"], tmp_path / "out.mp4"), width, height, frames, audio
    )
    video = result["video"]
    assert (video["width"], video["height"], video["frame_count"]) == (width, height, frames)
    assert video["has_audio"] is audio
    assert abs(video["duration"] - opened.duration) < 1e-6
    assert video["file_size"] == (tmp_path / "out.mp4").stat().st_size
    if "seed" in payload:
        assert result["seed"] == payload["seed"]
    assert isinstance(result["seed"], int)
    metrics = result["metrics"]
    for name in ("inference_time", "queue_time", "total_time", "cost", "remaining_credits"):
        assert name in metrics
    assert metrics["total_time"] >= metrics["inference_time"] > 0
    assert metrics["cost"] > 0


@pytest.mark.parametrize("slug", SLUGS)
def test_run(slug, client, media_server, tmp_path):
    result = client.run(slug, **payloads(media_server.url)[slug])
    assert result["status"] == "COMPLETED"
    width, height, frames, audio = EXPECTED[slug]
    assert_video(_download(result["output"], tmp_path / "out.mp4"), width, height, frames, audio)


@pytest.mark.parametrize("slug", SLUGS)
def test_run_sync(slug, client, media_server, tmp_path):
    payload = payloads(media_server.url)[slug]
    response = client.run_sync(slug, **payload)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    for header in (
        "x-request-id",
        "x-seed-value",
        "x-generation-time",
        "x-cost",
        "x-remaining-credits",
    ):
        assert response.headers.get(header), header
    if "seed" in payload:
        assert response.headers["x-seed-value"] == str(payload["seed"])
    path = tmp_path / "out.mp4"
    path.write_bytes(response.content)
    width, height, frames, audio = EXPECTED[slug]
    assert_video(path, width, height, frames, audio)
