"""`reelforge serve` on PostgreSQL: two API processes share one queue and one storage
directory, and the core SDK test (every seed payload through the official segmind SDK)
passes in this mode."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from segmind import SegmindClient
from segmind.v2 import AsyncJob

from reelforge.jobs import JobQueue, Status
from tests.scale.conftest import V6, all_rows
from tests.support.checks import assert_video
from tests.support.seeds import EXPECTED, payloads
from tests.support.server import FAKE_ENGINE, ServerProcess

SLUGS = sorted(EXPECTED)


def _client(server: ServerProcess) -> SegmindClient:
    return SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1", timeout=120)


def _on(server: ServerProcess, job: AsyncJob) -> AsyncJob:
    """The same request, polled through another server with its own SDK client."""
    base = server.base_url
    return AsyncJob(
        request_id=job.request_id,
        status_url=f"{base}/v2/requests/{job.request_id}/status",
        response_url=f"{base}/v2/requests/{job.request_id}",
        submit_response=job.submit_response,
        _client=_client(server),
    )


def _download(url: str, path: Path) -> Path:
    response = httpx.get(url, timeout=60)  # no API key: the URL is signed
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    assert response.headers["content-type"] == "video/mp4"
    path.write_bytes(response.content)
    return path


def test_two_api_processes_serve_the_same_jobs(serve, pg_url: str, queue: JobQueue, tmp_path: Path):
    shared = {
        "REELFORGE_ENGINE": FAKE_ENGINE,
        "REELFORGE_DATABASE_URL": pg_url,
        "REELFORGE_STORAGE_DIR": str(tmp_path / "files"),
        "REELFORGE_SIGNING_SECRET": "scale-test-signing-secret",
    }
    servers = [serve(tmp_path / name, **shared) for name in ("api-a", "api-b")]
    try:
        for server in servers:
            server.start()
        first, second = servers
        submitted = []  # (submitted on, polled on, job, seed)
        for index in range(6):
            on, other = (first, second) if index % 2 == 0 else (second, first)
            seed = 500 + index
            job = _client(on).submit_async(
                V6,
                prompt="a paper boat on a river",
                duration=1,
                quality="360p",
                generate_audio_switch=False,
                seed=seed,
            )
            assert job.status_url.startswith(on.base_url)
            submitted.append((on, other, job, seed))
        for index, (on, other, job, seed) in enumerate(submitted):
            result = _on(other, job).wait(timeout=60, interval=0.1)
            assert result["status"] == "COMPLETED"
            assert result["seed"] == seed
            assert result["output"].startswith(f"{other.base_url}/files/")
            path = _download(result["output"], tmp_path / f"out-{index}.mp4")
            assert_video(path, 640, 360, 25, False)
            # the submitting server answers the same, and either server serves the file
            # the other signed: one signing secret, one storage directory
            mine = job.result()
            assert mine["video"] == result["video"]
            assert mine["output"].startswith(f"{on.base_url}/files/")
            rebased = mine["output"].replace(on.base_url, other.base_url, 1)
            assert _download(rebased, tmp_path / "again.mp4").read_bytes() == path.read_bytes()
            v1 = httpx.get(
                f"{other.base_url}/v1/requests/{job.request_id}", headers=other.headers()
            )
            assert v1.status_code == 200 and v1.json()["status"] == "COMPLETED"
        rows = all_rows(queue)
        assert len(rows) == len(submitted)
        assert Counter((job.status, job.attempt) for job in rows) == {
            (Status.COMPLETED, 1): len(submitted)
        }
    finally:
        for server in servers:
            server.stop()
    # both API processes and their workers used the one PostgreSQL schema, no SQLite
    for server in servers:
        assert not (server.data_dir / "reelforge.db").exists()


def test_sdk_seed_payloads_on_postgres(serve, pg_url: str, queue: JobQueue, media_server, tmp_path):
    """tests/api/test_sdk_seeds.py's submit_async + wait, against a server on PostgreSQL."""
    server = serve(tmp_path / "data", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_DATABASE_URL=pg_url)
    try:
        server.start()
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1", timeout=300)
        bodies = payloads(media_server.url)
        jobs = {slug: client.submit_async(slug, **bodies[slug]) for slug in SLUGS}
        for slug, job in jobs.items():
            payload = bodies[slug]
            assert job.submit_response["status"] == "QUEUED"
            assert job.submit_response["poll_url"].endswith(f"/v1/requests/{job.request_id}")
            result = job.wait(timeout=120, interval=0.2)
            assert result["status"] == "COMPLETED", slug
            poll = httpx.get(job.submit_response["poll_url"], headers=server.headers())
            assert poll.status_code == 200 and poll.json()["output"] == result["output"]
            width, height, frames, audio = EXPECTED[slug]
            out = _download(result["output"], tmp_path / f"{slug}.mp4")
            opened = assert_video(out, width, height, frames, audio)
            video = result["video"]
            assert (video["width"], video["height"], video["frame_count"]) == (
                width,
                height,
                frames,
            )
            assert video["has_audio"] is audio
            assert abs(video["duration"] - opened.duration) < 1e-6
            assert video["file_size"] == out.stat().st_size
            if "seed" in payload:
                assert result["seed"] == payload["seed"]
            assert isinstance(result["seed"], int)
            metrics = result["metrics"]
            assert metrics["total_time"] >= metrics["inference_time"] > 0
            assert metrics["cost"] > 0
        # the jobs really live in this test's PostgreSQL schema
        rows = all_rows(queue)
        assert sorted(job.slug for job in rows) == SLUGS
        assert all(job.status is Status.COMPLETED for job in rows)
        assert not (server.data_dir / "reelforge.db").exists()
    finally:
        server.stop()
