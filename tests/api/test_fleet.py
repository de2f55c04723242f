"""Operators see the queues and the live workers: the admin endpoint and `reelforge status`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from segmind import SegmindClient

from reelforge.settings import Settings
from reelforge.worker.loop import served_slugs
from tests.support.seeds import payloads
from tests.support.server import FAKE_ENGINE, REPO

T2V = "pixverse-text2video"


def _status(server) -> dict:
    response = httpx.get(f"{server.base_url}/v1/admin/status", headers=server.headers())
    assert response.status_code == 200
    return response.json()


def test_admin_status_shows_the_worker_and_the_queue(serve, tmp_path, media_server):
    server = serve(
        tmp_path / "data", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_FAKE_STEP_SECONDS="0.3",
        REELFORGE_WORKER_SLUGS="pixverse-text2video,pixverse-v6",
    ).start()  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (report := _status(server))["workers"] and time.monotonic() < deadline:
            time.sleep(0.2)
        [worker] = report["workers"]
        assert worker["slugs"] == ["pixverse-text2video", "pixverse-v6"]
        assert worker["device"] == "cpu" and worker["memory_bytes"] > 0
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1")
        body = payloads(media_server.url)[T2V]
        jobs = [client.submit_async(T2V, **body) for _ in range(3)]
        # the first on the device, the second claimed and prepared while it runs (the
        # pipelined worker), the third queued
        _wait_report(server, lambda report: report["queues"][T2V] == {"QUEUED": 1, "PROCESSING": 2})
        assert _status(server)["workers"][0]["current_job"] == jobs[0].request_id
        waiting = httpx.get(
            f"{server.base_url}/v2/requests/{jobs[1].request_id}/status",
            headers={"x-api-key": server.key},
        ).json()
        assert (waiting["status"], waiting["stage"]) == ("PROCESSING", "waiting for the device")
        # a slug no live worker serves just waits in its queue
        client.submit_async("pixverse-5-video", **payloads(media_server.url)["pixverse-5-video"])
        for job in jobs:
            job.wait(timeout=30, interval=0.2)
        report = _status(server)
        assert report["queues"].get(T2V, {"QUEUED": 0, "PROCESSING": 0}) == {
            "QUEUED": 0, "PROCESSING": 0,
        }  # fmt: skip
        assert report["queues"]["pixverse-5-video"]["QUEUED"] == 1
        assert report["workers"][0]["jobs_done"] == 3
        printed = subprocess.run(
            [sys.executable, "-m", "reelforge", "status", "--data-dir", str(server.data_dir)],
            capture_output=True, text=True, timeout=60, cwd=REPO,
            env={**server.env, "COLUMNS": "200"},
        )  # fmt: skip
        assert printed.returncode == 0, printed.stderr
        assert "pixverse-5-video" in printed.stdout and worker["id"] in printed.stdout
    finally:
        server.stop()


def test_admin_status_needs_a_key(server):
    assert httpx.get(f"{server.base_url}/v1/admin/status").status_code == 401


def test_worker_slugs_are_checked():
    assert served_slugs(Settings(worker_slugs=" pixverse-v6 ,")) == ["pixverse-v6"]
    with pytest.raises(ValueError, match="REELFORGE_WORKER_SLUGS: unknown endpoint"):
        served_slugs(Settings(worker_slugs="pixverse-v6,nope"))


def test_a_worker_stays_live_through_a_long_job(serve, tmp_path, media_server):
    # live = a heartbeat within 3 beats + 5 s (5.9 s here); the job runs about 8 s
    server = serve(
        tmp_path / "data", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_FAKE_STEP_SECONDS="0.8",
        REELFORGE_HEARTBEAT_SECONDS="0.3",
    ).start()  # fmt: skip
    try:
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1")
        job = client.submit_async(T2V, **payloads(media_server.url)[T2V])
        time.sleep(7)
        assert job.status()["status"] == "PROCESSING"
        [worker] = _status(server)["workers"]
        assert worker["current_job"] == job.request_id
        assert job.wait(timeout=30, interval=0.2)["status"] == "COMPLETED"
    finally:
        server.stop()


def _wait_report(server, check, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while not check(report := _status(server)):
        assert time.monotonic() < deadline, report
        time.sleep(0.2)
    return report


def _reelforge_status(server) -> str:
    printed = subprocess.run(
        [sys.executable, "-m", "reelforge", "status", "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**server.env, "COLUMNS": "250"},
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    return printed.stdout


def test_a_model_no_live_worker_serves_waits_and_says_so(serve, tmp_path, media_server):
    server = serve(
        tmp_path / "data", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_FAKE_STEP_SECONDS="0.5",
        REELFORGE_WORKER_SLUGS="pixverse-v6",
    ).start()  # fmt: skip
    try:
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1")
        media = payloads(media_server.url)
        orphan = client.submit_async(T2V, **media[T2V])
        v6 = media["pixverse-v6"]
        running, waiting = (client.submit_async("pixverse-v6", **v6) for _ in "ab")
        status = orphan.status()
        assert (status["status"], status["stage"]) == ("QUEUED", "waiting for a worker")
        deadline = time.monotonic() + 30
        while running.status()["status"] != "PROCESSING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        status = waiting.status()  # a worker serves it: just its turn
        assert (status["status"], status["stage"]) == ("QUEUED", "queued")
        report = _status(server)
        assert report["workers_per_slug"] == {"pixverse-v6": 1}
        assert report["unserved"] == [T2V]
        printed = _reelforge_status(server)
        assert f"{T2V}: jobs are queued and no live worker serves it" in printed
        assert "none live" in printed
    finally:
        server.stop()


def test_a_killed_worker_shows_as_gone_and_the_next_one_cleans_up(serve, tmp_path, media_server):
    server = serve(
        tmp_path / "data", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_FAKE_STEP_SECONDS="0.5",
        REELFORGE_HEARTBEAT_SECONDS="0.3", REELFORGE_LEASE_SECONDS="2",
        REELFORGE_WORKER_SLUGS="pixverse-v6",
    ).start()  # fmt: skip
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**server.env, "REELFORGE_DATA_DIR": str(server.data_dir),
           "REELFORGE_WORKER_SLUGS": T2V, "TMPDIR": str(temp)}  # fmt: skip
    started: list[subprocess.Popen[bytes]] = []

    def lone_worker(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "reelforge", "worker"], env=env, cwd=REPO,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        started.append(process)
        return process

    try:
        first = lone_worker("first")
        _wait_report(server, lambda r: r["workers_per_slug"].get(T2V) == 1)
        client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1")
        job = client.submit_async(T2V, **payloads(media_server.url)[T2V])
        deadline = time.monotonic() + 30
        while job.status()["status"] != "PROCESSING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        [workdir] = list(Path(temp).glob(f"reelforge-{job.request_id}-*"))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # 1. Listed as gone, running nothing, with how long ago it was seen
        report = _wait_report(
            server, lambda r: any(w["pid"] == first.pid and not w["live"] for w in r["workers"])
        )
        [gone] = [w for w in report["workers"] if w["pid"] == first.pid]
        assert gone["current_job"] is None and gone["last_seen"] >= 5
        assert T2V not in report["workers_per_slug"]
        assert "gone (last seen" in _reelforge_status(server)
        # 2. The next worker on this host removes what it left, and runs the job again
        lone_worker("second")
        assert job.wait(timeout=60, interval=0.2)["status"] == "COMPLETED"
        assert not workdir.exists()
        assert all(w["pid"] != first.pid for w in _status(server)["workers"])
    finally:
        for process in started:
            process.terminate()
            process.wait(15)
        server.stop()
