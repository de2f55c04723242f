"""Every seed page's payload through the official segmind SDK, three ways, against a
real server (on the fast test engine, and on the real LTX-2 engine with the tiny
checkpoint); every mp4 opened with PyAV and checked against the request.

On the real engine a 540p 5 s video costs about half a minute of CPU, so each payload runs
there at its own size once (`submit_async`), and at the smallest size its model allows
for `run` and `run_sync`: what those prove (the SDK's blocking calls on the real engine's
output) does not depend on the size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from segmind import SegmindClient

from tests.support.checks import assert_video
from tests.support.seeds import EXPECTED, payloads
from tests.support.server import ServerProcess

SLUGS = sorted(EXPECTED)


def _client(server: ServerProcess) -> SegmindClient:
    # sync video calls outlive the SDK's 30 s default timeout
    return SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1", timeout=300)


@pytest.fixture
def client(server) -> SegmindClient:
    """A client of the server on the fast test engine."""
    return _client(server)


@pytest.fixture
def ltx2_client(ltx2_server) -> SegmindClient:
    """A client of the server on the real LTX-2 engine (tiny checkpoint)."""
    return _client(ltx2_server)


def smallest(slug: str, payload: dict[str, Any]) -> tuple[dict[str, Any], tuple]:
    """`payload` at 360p (and 1 s where the model allows it), and what it gives back."""
    width, height, frames, audio = EXPECTED[slug]
    small = {**payload, "quality": "360p"}
    if slug == "pixverse-v6":  # durations 1..15; the Pixverse 5 family knows only 5 and 8
        small["duration"], frames = 1, 25
    return small, (width * 360 // height, 360, frames, audio)


def _download(url: str, path: Path) -> Path:
    response = httpx.get(url, timeout=60)  # no API key: the URL is signed
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    path.write_bytes(response.content)
    return path


@pytest.mark.parametrize("slug", SLUGS)
def test_submit_async_wait(slug, client, media_server, tmp_path):
    _submit_async_wait(client, slug, payloads(media_server.url)[slug], tmp_path)


@pytest.mark.parametrize("slug", SLUGS)
def test_submit_async_wait_on_ltx2(slug, ltx2_client, media_server, tmp_path):
    """The seed payload as it is (540p, 5 s) on the real engine: one per model."""
    _submit_async_wait(ltx2_client, slug, payloads(media_server.url)[slug], tmp_path)


def _submit_async_wait(client: SegmindClient, slug: str, payload: dict, tmp_path: Path) -> None:
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


def _run(client: SegmindClient, slug: str, payload: dict, expected: tuple, tmp_path: Path) -> None:
    result = client.run(slug, **payload)
    assert result["status"] == "COMPLETED"
    assert_video(_download(result["output"], tmp_path / "out.mp4"), *expected)


@pytest.mark.parametrize("slug", SLUGS)
def test_run(slug, client, media_server, tmp_path):
    _run(client, slug, payloads(media_server.url)[slug], EXPECTED[slug], tmp_path)


@pytest.mark.parametrize("slug", SLUGS)
def test_run_on_ltx2(slug, ltx2_client, media_server, tmp_path):
    _run(ltx2_client, slug, *smallest(slug, payloads(media_server.url)[slug]), tmp_path)


def _run_sync(
    client: SegmindClient, slug: str, payload: dict, expected: tuple, tmp_path: Path
) -> None:
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
    assert_video(path, *expected)


@pytest.mark.parametrize("slug", SLUGS)
def test_run_sync(slug, client, media_server, tmp_path):
    _run_sync(client, slug, payloads(media_server.url)[slug], EXPECTED[slug], tmp_path)


@pytest.mark.parametrize("slug", SLUGS)
def test_run_sync_on_ltx2(slug, ltx2_client, media_server, tmp_path):
    _run_sync(ltx2_client, slug, *smallest(slug, payloads(media_server.url)[slug]), tmp_path)
