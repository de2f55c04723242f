"""The official segmind SDK against a server with the result cache on (its default): every
seed payload passes unchanged, twice; the second run of a payload with an explicit seed and
no input fetched from a URL is served from the cache, the same video."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from segmind import SegmindClient

from tests.support.checks import assert_video
from tests.support.seeds import EXPECTED, payloads
from tests.support.server import FAKE_ENGINE, ServerProcess

URL_FIELDS = ("image_url", "video_url", "first_frame_url", "last_frame_url")


@pytest.fixture(scope="module")
def cached_server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(
        tmp_path_factory.mktemp("cached"),
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_RESULT_CACHE="true",
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_seed_payload_twice_through_the_sdk(
    slug, cached_server, media_server, tmp_path: Path
):
    client = SegmindClient(
        api_key=cached_server.key, base_url=f"{cached_server.base_url}/v1", timeout=300
    )
    payload = payloads(media_server.url)[slug]
    first = client.run(slug, **payload)
    second = client.run(slug, **payload)
    width, height, frames, audio = EXPECTED[slug]
    videos = []
    for name, result in (("a", first), ("b", second)):
        assert result["status"] == "COMPLETED"
        response = httpx.get(result["output"], timeout=60)
        assert response.status_code == 200
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(response.content)
        assert_video(path, width, height, frames, audio)
        videos.append(response.content)
    cacheable = "seed" in payload and not any(payload.get(field) for field in URL_FIELDS)
    if cacheable:
        assert second["metrics"]["cached"] is True
        assert second["metrics"]["original_request_id"] == first["request_id"]
        assert videos[0] == videos[1] and second["seed"] == first["seed"] == payload["seed"]
    else:
        assert "cached" not in second["metrics"]
    # the body field switches it off, through the SDK's own keyword arguments
    fresh = client.run(slug, **payload, cache=False)
    assert fresh["status"] == "COMPLETED" and "cached" not in fresh["metrics"]
