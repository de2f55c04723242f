"""No idle wait on the critical path: with the worker's poll at 60 s and the stream's at
its slowest, a job submitted to a real `reelforge serve` completes within seconds, on
SQLite (the API pokes the worker's socket) and on PostgreSQL (NOTIFY); the sync call
answers as promptly, woken by the same kind of signal."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import FAKE_ENGINE, ServerProcess

V6 = "pixverse-v6"
SMALL = {"prompt": "a lighthouse at night", "duration": 1, "quality": "360p"}
PROMPTLY = 10.0  # seconds: far below the 60 s poll, generous for a loaded machine


@pytest.fixture(params=["sqlite", "postgresql"])
def slow_polling_server(request, serve, tmp_path) -> Iterator[ServerProcess]:
    env = {
        "REELFORGE_ENGINE": FAKE_ENGINE,
        "REELFORGE_POLL_SECONDS": "60",
        "REELFORGE_STREAM_POLL_SECONDS": "0.25",
    }
    if request.param == "postgresql":
        env["REELFORGE_DATABASE_URL"] = request.getfixturevalue("pg_schema_url")
    process = serve(tmp_path / "server", **env)
    try:
        process.start()
        time.sleep(1.0)  # the worker's first look found nothing: it now waits out its poll
        yield process
    finally:
        process.stop()


def test_a_submit_wakes_the_idle_worker_without_the_poll(slow_polling_server):
    server = slow_polling_server
    for _ in range(3):  # each one after the worker went idle again
        started = time.monotonic()
        answer = httpx.post(f"{server.base_url}/v2/{V6}", json=SMALL, headers=server.headers())
        assert answer.status_code == 200, answer.text
        status_url = answer.json()["status_url"]
        while time.monotonic() - started < PROMPTLY:
            body = httpx.get(status_url, headers=server.headers()).json()
            if body["status"] == "COMPLETED":
                break
            time.sleep(0.05)
        assert body["status"] == "COMPLETED", f"still {body} after {PROMPTLY} s:\n{server.log()}"
        time.sleep(0.5)


def test_the_sync_call_answers_once_the_job_completes(slow_polling_server):
    server = slow_polling_server
    for _ in range(3):
        started = time.monotonic()
        answer = httpx.post(
            f"{server.base_url}/v1/{V6}", json=SMALL, headers=server.headers(), timeout=PROMPTLY
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "video/mp4"
        assert answer.content[4:8] == b"ftyp"
        assert time.monotonic() - started < PROMPTLY
        time.sleep(0.5)
