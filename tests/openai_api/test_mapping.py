"""The mapping of OpenAI's fields onto Reelforge's (no server): model names, sizes and
seconds checked with messages naming the field, the exact size in the plan and the
price, a Pixverse job rendered as a Video, and the OpenAI routes in /openapi.json."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reelforge import endpoints
from reelforge.api.app import create_app
from reelforge.errors import BadRequest
from reelforge.jobs import Job, Status
from reelforge.openai_api import mapping
from reelforge.settings import Settings


@pytest.mark.parametrize("size", ["720x1280", "1280x720", "1024x1792", "1792x1024", "256x144"])
def test_the_sdk_sizes_and_other_makeable_ones_are_accepted(size: str) -> None:
    width, height = mapping.size(size)
    assert f"{width}x{height}" == size


@pytest.mark.parametrize("size", ["720x", "x", "721x1280", "62x62", "1920x1920", "2000x100", ""])
def test_other_sizes_are_a_400_naming_size_and_the_allowed_ones(size: str) -> None:
    with pytest.raises(BadRequest) as bad:
        mapping.size(size)
    assert bad.value.message.startswith("size: must be WIDTHxHEIGHT")
    assert "720x1280, 1280x720, 1024x1792, 1792x1024" in bad.value.message
    assert bad.value.extra["param"] == "size"


def test_seconds_and_models() -> None:
    assert mapping.seconds(None, mapping.CREATE_SECONDS) == 4
    assert [mapping.seconds(s, mapping.CREATE_SECONDS) for s in ("4", "8", "12")] == [4, 8, 12]
    assert mapping.seconds("20", mapping.EXTEND_SECONDS) == 20
    for bad in ("16", "0", "-4", "4.5", "four"):
        with pytest.raises(BadRequest, match="^seconds: must be a whole number from 1 to 15"):
            mapping.seconds(bad, mapping.CREATE_SECONDS)
    assert mapping.model(None) == "sora-2"
    assert mapping.MODELS["sora-2-pro"].thinking_type == "enabled"
    with pytest.raises(BadRequest, match="^model: must be one of sora-2, .*sora-2-pro"):
        mapping.model("gpt-video")


def test_an_explicit_size_is_planned_and_priced_at_its_own_pixels() -> None:
    endpoint = endpoints.get(mapping.CREATE_SLUG)
    assert endpoint is not None
    fields = mapping.create_fields("a cat", "sora-2", 1024, 1792, 4, None)
    assert (fields["quality"], fields["aspect_ratio"]) == ("1080p", "9:16")
    params = mapping.add_openai(
        endpoint.validate(fields), width=1024, height=1792, name="sora-2", secs=4
    )
    task = endpoint.plan(params, {})
    assert (task.width, task.height, task.num_frames) == (1024, 1792, 97)
    assert task.output_frames == 96  # 4 s exactly, of the 8k+1 made
    assert endpoint.price(params) == round(1024 * 1792 / 1e6 * 4 * 0.12, 4)
    with pytest.raises(BadRequest, match="unknown parameter 'size'"):
        endpoint.validate({"prompt": "a cat", "size": "64x64"})  # never from a client
    with pytest.raises(BadRequest, match="unknown parameter 'exact_seconds'"):
        endpoint.validate({"prompt": "a cat", "exact_seconds": True})


def _job(**changes: object) -> Job:
    job = Job(
        id="j1", slug="pixverse-text2video", owner="a", params={"prompt": "waves",
        "quality": "540p", "aspect_ratio": "9:16", "duration": 5}, status=Status.QUEUED,
        created_at=100.5, expires_at=3700.5, started_at=None, finished_at=None, attempt=0,
        worker_id=None, lease_until=None, progress=0.0, stage=None, cancel_requested=False,
        error=None, output_key=None, video=None, inference_time=None, cost=None,
    )  # fmt: skip
    return dataclasses.replace(job, **changes)  # type: ignore[arg-type]


def test_a_pixverse_request_as_a_video() -> None:
    queued = mapping.video_object(_job())
    assert queued == {
        "id": "j1", "object": "video", "model": "pixverse-text2video", "status": "queued",
        "progress": 0, "created_at": 100, "completed_at": None, "expires_at": 3700,
        "seconds": "5", "size": "540x960", "prompt": "waves", "error": None,
        "remixed_from_video_id": None,
    }  # fmt: skip
    running = mapping.video_object(_job(status=Status.PROCESSING, progress=0.437))
    assert (running["status"], running["progress"]) == ("in_progress", 43)
    failed = mapping.video_object(
        _job(status=Status.FAILED, finished_at=120.0, error="cancelled by request")
    )
    assert failed["error"] == {"code": "cancelled", "message": "cancelled by request"}
    assert failed["completed_at"] == 120


def test_the_openai_routes_are_in_the_document(tmp_path: Path) -> None:
    document = create_app(Settings(data_dir=tmp_path, admin_key="k")).openapi()
    videos = {(m, p): op for p, item in document["paths"].items() for m, op in item.items()
              if p.startswith("/v1/videos")}  # fmt: skip
    assert set(videos) == {
        ("post", "/v1/videos"), ("get", "/v1/videos"), ("get", "/v1/videos/{video_id}"),
        ("delete", "/v1/videos/{video_id}"), ("get", "/v1/videos/{video_id}/content"),
        ("post", "/v1/videos/{video_id}/remix"), ("post", "/v1/videos/extensions"),
    }  # fmt: skip
    for key, operation in videos.items():
        assert operation["tags"] == ["openai"], key
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/OpenAIError", (key, status)
    create = videos[("post", "/v1/videos")]["requestBody"]["content"]["multipart/form-data"]
    assert create["schema"]["properties"]["size"]["enum"] == list(mapping.SDK_SIZES)
    schemas = document["components"]["schemas"]
    assert schemas["OpenAIVideo"]["properties"]["status"]["enum"] == [
        "queued", "in_progress", "completed", "failed"
    ]  # fmt: skip
    assert set(schemas["OpenAIError"]["properties"]) == {"error"}
