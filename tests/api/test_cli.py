"""The `reelforge` command as a user types it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import httpx
from segmind import SegmindClient

from tests.support.checks import assert_video
from tests.support.server import FAKE_ENGINE, REPO, free_port


def test_first_start_creates_prints_and_keeps_the_admin_key(serve, tmp_path):
    server = serve(tmp_path / "data", key=None, REELFORGE_ENGINE=FAKE_ENGINE).start()
    try:
        key_file = tmp_path / "data" / "admin.key"
        key = key_file.read_text().strip()
        assert len(key) > 30
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert key in server.log()
        ok = httpx.get(f"{server.base_url}/v1/get-user-credits", headers={"x-api-key": key})
        assert ok.status_code == 200
    finally:
        server.stop()
    again = serve(tmp_path / "data", key=None, REELFORGE_ENGINE=FAKE_ENGINE)
    again.log_path = tmp_path / "second.log"
    again.start().stop()
    assert key_file.read_text().strip() == key  # the same key on later starts
    assert key not in again.log()  # printed once, not on every start


def test_run_writes_the_mp4(server, tmp_path):
    out = tmp_path / "fox.mp4"
    completed = subprocess.run(
        [sys.executable, "-m", "reelforge", "run", "pixverse-v6",
         "-p", "prompt=a red fox", "-p", "duration=2", "-p", "quality=360p",
         "-p", "aspect_ratio=9:16", "-p", "generate_audio_switch=false",
         "-o", str(out), "--url", server.base_url, "--key", server.key],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert_video(out, 360, 640, 49, has_audio=False)


def test_run_reports_a_failure(server, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "reelforge", "run", "pixverse-v6", "-p", "duration=99",
         "-p", "prompt=x", "--url", server.base_url, "--key", server.key],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "refused (400)" in completed.stderr and "duration" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_api_only_replica_queues_without_running(tmp_path, media_server):
    """`uvicorn --factory reelforge.api.app:app_from_env`: the API alone, no worker."""
    port = free_port()
    env = {**os.environ, "REELFORGE_DATA_DIR": str(tmp_path), "REELFORGE_ADMIN_KEY": "k",
           "REELFORGE_ALLOW_PRIVATE_URLS": "true", "PYTHONPATH": str(REPO)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "reelforge.api.app:app_from_env",
         "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            time.sleep(0.1)
        client = SegmindClient(api_key="k", base_url=f"{base}/v1")
        job = client.submit_async("pixverse-text2video", prompt="waves", duration=5)
        time.sleep(1)
        assert job.status()["status"] == "QUEUED"  # nobody claims it: no worker here
        status = httpx.get(f"{base}/v1/admin/status", headers={"x-api-key": "k"}).json()
        assert status["workers"] == []
        assert status["queues"]["pixverse-text2video"]["QUEUED"] == 1
    finally:
        process.terminate()
        process.wait(10)
