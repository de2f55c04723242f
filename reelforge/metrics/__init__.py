"""What Reelforge counts and times, for Prometheus (GET /metrics).

The rest of the code reports events through these functions only; how they are kept
(prometheus-client, multiprocess-safe) is this package's business.
"""

from __future__ import annotations

from collections.abc import Mapping


def job_submitted(slug: str) -> None:
    """A job of `slug` was accepted (API side)."""


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


def webhook_attempt(event: str, outcome: str) -> None:
    """One webhook attempt: `event` start / progress / completed, `outcome` delivered /
    retry (failed, will be tried again) / gave_up (failed for the last time)."""
