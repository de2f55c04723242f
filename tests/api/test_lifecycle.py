"""Progress, cancel, sync timeout, expiry and kill-and-restart, on real server processes."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from segmind import SegmindClient
from segmind.v2 import InferenceFailed

from tests.support.seeds import payloads
from tests.support.server import FAKE_ENGINE
from tests.support.worker_process import wait_for

T2V = "pixverse-text2video"


@pytest.fixture
def slow_server(serve, tmp_path):
    """10 engine steps of 0.4 s each: a job takes about 4 s."""
    process = serve(
        tmp_path / "slow",
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_FAKE_STEP_SECONDS="0.4",
        REELFORGE_SYNC_TIMEOUT="1",
        REELFORGE_HEARTBEAT_SECONDS="0.3",
        REELFORGE_LEASE_SECONDS="2",
    )
    try:
        yield process.start()
    finally:
        process.stop()


def _client(server) -> SegmindClient:
    return SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1", timeout=60)


def _wait_status(job, wanted: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status()
        if status["status"] == wanted:
            return status
        time.sleep(0.1)
    raise AssertionError(f"never reached {wanted}: {status}")


def test_status_reports_queue_position_then_progress(slow_server, media_server):
    client = _client(slow_server)
    body = payloads(media_server.url)[T2V]
    first = client.submit_async(T2V, **body)
    second = client.submit_async(T2V, **body)
    queued = second.status()
    assert queued["status"] == "QUEUED" and queued["queue_position"] >= 0
    assert "output" not in queued
    running = _wait_status(first, "PROCESSING")
    assert 0 <= running["progress"] <= 1 and running["stage"]
    seen = set()
    while (status := first.status())["status"] == "PROCESSING":
        seen.add(status["progress"])
        time.sleep(0.2)
    assert len(seen) >= 2, "progress should move while the job runs"
    assert first.wait(timeout=30)["status"] == "COMPLETED"
    assert second.wait(timeout=30)["status"] == "COMPLETED"


def test_cancel_ends_failed(slow_server, media_server):
    client = _client(slow_server)
    job = client.submit_async(T2V, **payloads(media_server.url)[T2V])
    _wait_status(job, "PROCESSING")
    response = httpx.post(f"{job.response_url}/cancel", headers=slow_server.headers())
    assert response.status_code in (200, 422)
    with pytest.raises(InferenceFailed) as caught:
        job.wait(timeout=30, interval=0.1)
    assert "cancelled" in caught.value.detail


def test_sync_call_past_its_limit_is_504_naming_the_request(slow_server, media_server):
    response = httpx.post(
        f"{slow_server.base_url}/v1/{T2V}",
        headers=slow_server.headers(),
        json=payloads(media_server.url)[T2V],
        timeout=30,
    )
    assert response.status_code == 504
    body = response.json()
    assert body["request_id"] in body["error"]
    # the job itself goes on and can be polled to completion
    status = httpx.get(body["status_url"], headers=slow_server.headers()).json()
    assert status["status"] in ("QUEUED", "PROCESSING", "COMPLETED")


def test_kill_and_restart_loses_nothing(serve, tmp_path, media_server):
    env = dict(
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_FAKE_STEP_SECONDS="0.3",
        REELFORGE_HEARTBEAT_SECONDS="0.3",
        REELFORGE_LEASE_SECONDS="2",
    )
    first = serve(tmp_path / "data", **env).start()
    client = _client(first)
    jobs = [client.submit_async(T2V, **payloads(media_server.url)[T2V]) for _ in range(3)]
    _wait_status(jobs[0], "PROCESSING")
    first.kill()  # SIGKILL: no clean shutdown, the running job's lease just stops
    second = serve(tmp_path / "data", **env)
    second.port, second.base_url = first.port, first.base_url  # same address for the SDK
    second.start()
    try:
        results = [job.wait(timeout=90, interval=0.2) for job in jobs]
        assert [result["status"] for result in results] == ["COMPLETED"] * 3
        retried = httpx.get(jobs[0].status_url, headers=second.headers()).json()
        assert retried["attempt"] == 2  # the running one was claimed again after its lease
    finally:
        second.stop()


def test_expiry_answers_404_and_deletes_files(serve, tmp_path, media_server):
    server = serve(
        tmp_path / "data",
        REELFORGE_ENGINE=FAKE_ENGINE,
        # long enough for the job to finish on a loaded machine before it expires
        REELFORGE_RETENTION_SECONDS="15",
        REELFORGE_REAP_SECONDS="0.5",
    ).start()
    try:
        client = _client(server)
        job = client.submit_async(T2V, **payloads(media_server.url)[T2V])
        result = job.wait(timeout=30, interval=0.1)
        files = list((server.data_dir / "files").rglob("*.mp4"))
        assert len(files) == 1
        wait_for(
            lambda: httpx.get(job.status_url, headers=server.headers()).status_code == 404,
            60,
            "the request to expire",
        )
        wait_for(lambda: not any(path.exists() for path in files), 30, "the sweep")
        for url in (job.status_url, job.response_url):
            response = httpx.get(url, headers=server.headers())
            assert response.status_code == 404
            assert response.json() == {"error": f"Request {job.request_id} not found"}
        assert httpx.get(result["output"]).status_code == 403  # the signed URL expired too
        assert not any(path.exists() for path in files)
        # nor the request's folder: no empty files/outputs/<request id>/ left forever
        assert not (server.data_dir / "files" / "outputs" / job.request_id).exists()
    finally:
        server.stop()


def test_sigterm_to_serve_alone_hands_the_running_job_back(serve, tmp_path, media_server):
    """What a container runtime does to PID 1: the worker must hand its job back, not die
    with the server and leave the job to wait out its lease (60 s here: longer than this
    test may take) and run again as attempt 2."""
    env = dict(
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_FAKE_STEP_SECONDS="0.5",
        REELFORGE_HEARTBEAT_SECONDS="0.3",
        REELFORGE_LEASE_SECONDS="60",
    )
    first = serve(tmp_path / "data", **env).start()
    try:
        job = _client(first).submit_async(T2V, **payloads(media_server.url)[T2V])
        _wait_status(job, "PROCESSING")
        assert first.process is not None
        os.kill(first.process.pid, signal.SIGTERM)  # serve alone, not its process group
        assert first.process.wait(30) == 0
    finally:
        first.stop()
    assert "handed back to the queue" in first.log(), first.log()[-4000:]
    second = serve(tmp_path / "data", **env)
    second.port, second.base_url = first.port, first.base_url  # same address for the SDK
    second.start()
    try:
        assert job.wait(timeout=30, interval=0.2)["status"] == "COMPLETED"
        assert httpx.get(job.status_url, headers=second.headers()).json()["attempt"] == 1
    finally:
        second.stop()
