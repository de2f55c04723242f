"""A `reelforge worker` alone (another machine than the API's) serves its own metrics
on REELFORGE_WORKER_METRICS_PORT: the jobs it finished, timed by stage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.metrics.scraped import Scraped
from tests.support.inprocess import ADMIN_KEY, AppWithWorker
from tests.support.server import FAKE_ENGINE, free_port
from tests.support.worker_process import WorkerProc

V6 = "pixverse-v6"


def test_a_worker_alone_serves_its_metrics(
    app_with_worker: Callable[..., AppWithWorker], tmp_path: Path
) -> None:
    app = app_with_worker(engine=None)  # the API alone; the worker is the process below
    port = free_port()
    env = app.worker_env(engine=FAKE_ENGINE, worker_metrics_port=port)
    worker = WorkerProc("alone", env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        request_id = app.submit(ADMIN_KEY, V6, {"prompt": "x", "duration": 1, "quality": "360p"})
        assert app.wait(ADMIN_KEY, request_id).json()["status"] == "COMPLETED"
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        worker.stop()
    assert answer.status_code == 200
    scraped = Scraped(answer.text)
    assert scraped.value("reelforge_jobs_completed_total", model=V6) == 1
    assert scraped.value("reelforge_job_stage_seconds_count", model=V6, stage="denoising") == 1
    assert scraped.value("process_cpu_seconds_total") > 0  # its own process, not the API's
