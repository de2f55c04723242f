"""Through the real worker: a job whose input is hostile ends FAILED with an error naming
the field and what was wrong, and the worker goes on to complete the next job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reelforge import endpoints
from reelforge.jobs import NewJob, Status
from reelforge.settings import Settings
from reelforge.worker import Worker
from tests.hostile.media import hls_playlist
from tests.support.fake_engine import FakeEngine

pytestmark = pytest.mark.usefixtures("hostile_fetch")


def test_hostile_jobs_fail_cleanly_and_the_worker_goes_on(
    public, internal, tmp_path: Path, hostile_files
) -> None:
    for name, data in hostile_files.items():
        public.files[f"/{name}"] = data
    public.files["/playlist.mp4"] = hls_playlist(internal.base)
    settings = Settings(
        data_dir=tmp_path, allow_private_urls=True, fetch_timeout=2.0, max_image_bytes=1_000_000
    )
    worker = Worker(settings, FakeEngine(settings))
    base = public.base
    cases = [
        ("pixverse-v6", {"image_url": f"{base}/goto/http://169.254.169.254/"},
         "image_url: could not fetch .*cloud metadata address 169.254.169.254"),
        ("pixverse-v6", {"image_url": f"{base}/goto/{internal.base}/"},
         "image_url: could not fetch .*loopback address 127.0.0.1"),
        ("pixverse-v6", {"image_url": f"{base}/drip"}, "image_url: .*timed out after 2 s"),
        ("pixverse-v6", {"image_url": f"{base}/claims-small/3000000"},
         "image_url: .*larger than 1 MB"),
        ("pixverse-v6", {"image_url": f"{base}/bomb.png"}, "image_url: image is too large"),
        ("pixverse-5-transition",
         {"first_frame_url": f"{base}/good.png", "last_frame_url": f"{base}/random.mp4"},
         r"last_frame_url: unsupported image format \(unrecognised\)"),
        ("pixverse-5-extend", {"video_url": f"{base}/playlist.mp4"},
         r"video_url: unsupported video format \(HLS\)"),
        ("pixverse-5-extend", {"video_url": f"{base}/huge.mp4"},
         "video_url: video is too large: 8192x8192"),
        ("pixverse-5-extend", {"video_url": f"{base}/truncated.mp4"},
         "video_url: .*(truncated|damaged)"),
        ("pixverse-v6", {"image_url": f"{base}/good.png"}, None),  # and then a good one
    ]  # fmt: skip
    ids = []
    for slug, media, _ in cases:
        params = {"prompt": "a hostile test", "duration": 5, "quality": "360p", **media}
        valid = endpoints.get(slug).validate(params)
        ids.append(worker.queue.submit(NewJob(slug=slug, owner="admin", params=valid)).id)
    for _ in cases:
        job = worker.queue.claim(worker.id, worker.slugs)
        assert job is not None
        worker.process(job)
    for job_id, (_, _, error) in zip(ids, cases, strict=True):
        job = worker.queue.get(job_id)
        assert job is not None
        if error is None:
            assert job.status is Status.COMPLETED, job.error
        else:
            assert job.status is Status.FAILED
            assert job.attempt == 1  # a bad input is not retried
            assert job.error is not None
            assert re.search(error, job.error), job.error
    assert internal.requests == []
