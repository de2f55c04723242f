"""Several processes, one /metrics: processes that record into one
PROMETHEUS_MULTIPROC_DIR are added up by the API's scrape; a dead process's counts stay
(totals never go down) while its live gauge is dropped (mark_process_dead); and the
directory cannot be chosen once prometheus_client is imported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reelforge import metrics
from tests.metrics.scraped import Scraped
from tests.support.inprocess import AppWithWorker
from tests.support.server import REPO

V6 = "pixverse-v6"

# one recording process: `count` submits, one COMPLETED job, one request in progress;
# then it waits for a line on stdin (or its end) before exiting
RECORDER = """
import sys
from reelforge import metrics
from reelforge.metrics import families
for _ in range(int(sys.argv[1])):
    metrics.job_submitted("pixverse-v6")
metrics.job_finished("pixverse-v6", "COMPLETED", timings={"denoising": 2.0, "step_seconds": 0.25},
                     queue_seconds=1.0, total_seconds=4.0)
metrics.webhook_attempt("completed", "delivered")
families.http_in_progress.inc()
print("recorded", flush=True)
sys.stdin.readline()
"""


class Recorder:
    def __init__(self, directory: Path, count: int):
        self.process = subprocess.Popen(
            [sys.executable, "-c", RECORDER, str(count)],
            env={"PYTHONPATH": str(REPO), metrics.MULTIPROC_ENV: str(directory)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == b"recorded\n"

    def exit(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        assert self.process.wait(30) == 0
        self.process.stdout.close()


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A multiprocess directory that this process's scrapes read (it records nothing
    there itself: its prometheus_client was imported without one)."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(directory))
    yield directory


def test_one_scrape_adds_up_every_process(
    shared: Path, app_with_worker: Callable[..., AppWithWorker]
) -> None:
    app = app_with_worker(engine=None)
    gone = Recorder(shared, 2)
    gone.exit()
    alive = Recorder(shared, 3)
    try:
        scraped = Scraped(app.client.get("/metrics").text)
        assert scraped.value("reelforge_jobs_submitted_total", model=V6) == 5
        assert scraped.value("reelforge_jobs_completed_total", model=V6) == 2
        assert scraped.value("reelforge_job_stage_seconds_count", stage="denoising") == 2
        assert scraped.value("reelforge_job_stage_seconds_sum", stage="denoising") == 4.0
        assert scraped.value("reelforge_denoise_step_seconds_count", model=V6) == 2
        assert scraped.value("reelforge_job_queue_seconds_sum", model=V6) == 2.0
        delivered = {"event": "completed", "outcome": "delivered"}
        assert scraped.value("reelforge_webhook_attempts_total", **delivered) == 2
        # the exited recorder's request in progress is forgotten; the live one's counts
        assert scraped.value("reelforge_http_requests_in_progress") == 1
        assert scraped.value("reelforge_queue_depth", model=V6) == 0  # the fleet's gauges too
    finally:
        alive.exit()
    after = Scraped(app.client.get("/metrics").text)
    assert after.value("reelforge_http_requests_in_progress") == 0
    assert after.value("reelforge_jobs_submitted_total", model=V6) == 5


def test_the_directory_must_be_chosen_before_prometheus_client_is_imported(
    tmp_path: Path,
) -> None:
    assert "prometheus_client" in sys.modules  # this test process imported it already
    with pytest.raises(RuntimeError, match="before its multiprocess directory was set"):
        metrics.use_directory(tmp_path / "metrics")
    assert not (tmp_path / "metrics").exists()


def test_use_directory_empties_what_an_earlier_run_left(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    program = (
        "import os, sys, pathlib; from reelforge import metrics; "
        "metrics.use_directory(pathlib.Path(sys.argv[1])); "
        "print(os.environ[metrics.MULTIPROC_ENV]); print(sorted(os.listdir(sys.argv[1])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(directory)],
        env={"PYTHONPATH": str(REPO)}, cwd=REPO, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.decode().splitlines() == [str(directory), "[]"]
