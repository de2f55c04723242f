"""What Reelforge counts and times, for Prometheus (GET /metrics; docs/metrics.md).

The rest of the code reports events through these functions only; how they are kept
is this package's business: prometheus-client families (families.py), gauges read from
the database at scrape time (collector.py), the HTTP middleware (http.py), and the
exposition, one process or many (exposition.py).

Several processes of one machine (`reelforge serve`: the API and its worker child) share
a directory of value files, `PROMETHEUS_MULTIPROC_DIR`. prometheus-client decides
whether to use it when it is first imported, so this module imports it only on first
use, and `use_directory` (called by `serve` before anything records) refuses to run
once it is imported.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from reelforge.jobs.record import Job

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# the stages the worker times (worker/progress.py) -> their label; others are not kept
STAGES = {
    "fetching inputs": "fetching_inputs",
    "encoding prompt": "encoding_prompt",
    "denoising": "denoising",
    "decoding": "decoding",
    "encoding mp4": "encoding_mp4",
    "uploading": "uploading",
}


def use_directory(directory: Path) -> None:
    """Make this process and the processes it starts share metrics through `directory`,
    emptied first (values of an earlier run would be counted again)."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before its multiprocess directory was set; "
            "call reelforge.metrics.use_directory first"
        )
    directory = directory.resolve()  # the worker child inherits it, whatever its cwd
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)


@functools.cache
def _families() -> ModuleType:
    from reelforge.metrics import families

    return families


def job_submitted(slug: str) -> None:
    """A job of `slug` was accepted (API side)."""
    _families().jobs_submitted.labels(model=slug).inc()


def job_finished(
    slug: str,
    status: str,
    *,
    timings: Mapping[str, float] | None = None,
    queue_seconds: float | None = None,
    total_seconds: float | None = None,
) -> None:
    """A job ended COMPLETED or FAILED. `timings`: seconds per stage of the attempt that
    finished it (worker/progress.py: "fetching inputs", "denoising", ..., "total",
    "steps", "step_seconds"); `queue_seconds`: submit to first claim; `total_seconds`:
    submit to end."""
    f = _families()
    (f.jobs_completed if status == "COMPLETED" else f.jobs_failed).labels(model=slug).inc()
    if queue_seconds is not None:
        f.queue_seconds.labels(model=slug).observe(max(0.0, queue_seconds))
    if total_seconds is not None:
        f.e2e_seconds.labels(model=slug, status=status).observe(max(0.0, total_seconds))
    for stage, seconds in (timings or {}).items():
        if stage in STAGES:
            f.stage_seconds.labels(model=slug, stage=STAGES[stage]).observe(seconds)
    step_seconds = (timings or {}).get("step_seconds")
    if step_seconds is not None:
        f.denoise_step_seconds.labels(model=slug).observe(step_seconds)


class Waits(TypedDict):
    queue_seconds: float | None  # submit to first claim (None: never claimed)
    total_seconds: float  # submit to end


def waits(job: Job) -> Waits:
    """`queue_seconds` and `total_seconds` of a job that ends now, for `job_finished`."""
    started = job.started_at
    return {
        "queue_seconds": None if started is None else started - job.created_at,
        "total_seconds": (job.finished_at or time.time()) - job.created_at,
    }


def webhook_attempt(event: str, outcome: str) -> None:
    """One webhook attempt: `event` start / progress / completed, `outcome` delivered /
    retry (failed, will be tried again) / gave_up (failed for the last time)."""
    _families().webhook_attempts.labels(event=event, outcome=outcome).inc()
