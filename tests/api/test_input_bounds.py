"""A video input is held no larger than its job needs, and one too big for that is refused
naming its field (issue 21): at submit when it is inline (a data: URL), as a FAILED job
when the worker fetches it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.media.test_decode_bounds import UHD, black_video

EXTEND = "pixverse-5-extend"
FRAMES = 24
AT_540P = FRAMES * 960 * 540 * 3  # 37 MB
AT_360P = FRAMES * 640 * 360 * 3  # 17 MB
LIMIT = 20_000_000  # between the two


@pytest.fixture(scope="module")
def uhd_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return black_video(tmp_path_factory.mktemp("inputs") / "uhd.mp4", FRAMES, *UHD)


def test_an_inline_video_too_big_at_the_jobs_size_is_a_400_naming_video_url(
    app_with_worker, uhd_mp4: Path
) -> None:
    assert AT_360P < LIMIT < AT_540P
    app = app_with_worker(engine=None, max_decoded_input_bytes=LIMIT)
    inline = "data:video/mp4;base64," + base64.b64encode(uhd_mp4.read_bytes()).decode()
    body = {"prompt": "more", "video_url": inline, "quality": "540p"}
    refused = app.client.post(f"/v2/{EXTEND}", json=body, headers=app.headers())
    assert refused.status_code == 400, refused.text
    message = refused.json()["error"]
    assert message.startswith("video_url: video is too large to decode"), message
    assert "24 frames at 960x540" in message
    # the same file for a 360p job fits: the size that counts is the job's
    accepted = app.client.post(
        f"/v2/{EXTEND}", json={**body, "quality": "360p"}, headers=app.headers()
    )
    assert accepted.status_code == 200, accepted.text


def test_a_fetched_video_too_big_at_the_jobs_size_fails_naming_video_url(
    app_with_worker, uhd_mp4: Path, media_dir: Path, media_server
) -> None:
    (media_dir / "uhd.mp4").write_bytes(uhd_mp4.read_bytes())
    app = app_with_worker(max_decoded_input_bytes=LIMIT)
    body = {"prompt": "more", "video_url": media_server.url("uhd.mp4"), "quality": "540p"}
    key = app.issue_key(100)
    request_id = app.submit(key, EXTEND, body)
    answer = app.wait(key, request_id)
    assert answer.json()["status"] == "FAILED"
    error = app.result(key, request_id).json()["error"]
    assert "video_url: video is too large to decode: 24 frames at 960x540" in error, error


def test_a_url_whose_host_dns_cannot_hold_is_a_400_naming_the_field(app_with_worker) -> None:
    app = app_with_worker(engine=None)
    body = {"prompt": "more", "video_url": f"https://{'a' * 300}.example.com/in.mp4"}
    answer = app.client.post(f"/v2/{EXTEND}", json=body, headers=app.headers())
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("video_url: malformed URL"), answer.text
