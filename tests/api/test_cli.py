"""The `reelforge` command as a user types it."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.support.checks import assert_video
from tests.support.server import FAKE_ENGINE, REPO, ServerProcess


def test_first_start_creates_prints_and_keeps_the_admin_key(tmp_path):
    server = ServerProcess(tmp_path / "data", key=None, REELFORGE_ENGINE=FAKE_ENGINE).start()
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
    again = ServerProcess(tmp_path / "data", key=None, REELFORGE_ENGINE=FAKE_ENGINE)
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
