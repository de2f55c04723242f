"""What the fleet measured, and the ETAs made from it.

Every COMPLETED job adds its measured times to the running means of its model and size
(`timing_stats`, one row per slug and size, e.g. ("pixverse-v6", "540p 5s normal")), in
the transaction that completes it. The estimates:

* PROCESSING, denoising: the steps left times this job's own seconds per step, plus the
  measured time after the last step (decode, encode, upload) of its size;
* PROCESSING, another stage: the job's run times (1 - progress);
* QUEUED: the jobs ahead, shared among the live workers serving its model, each taking
  this job's run, plus its own: `(ahead / workers + 1) * run` (jobs ahead of other sizes
  are counted at this job's size: an approximation);
* None when no live worker serves it.

The run (`reelforge/eta.py`, the estimate route's model too) is the measured job time of its
model and size, corrected for its step count; before anything of that size was measured
it is the plan's TFLOP at REELFORGE_ESTIMATE_PEAK_TFLOPS x REELFORGE_ESTIMATE_UTILISATION.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from reelforge.jobs.record import Job, Status
from reelforge.jobs.schema import timing_stats

log = logging.getLogger("reelforge.jobs")
WEIGHT = 0.2  # each new measurement's weight in the running means (after the first)
AFTER_DENOISING = ("decoding", "encoding mp4", "uploading")  # stages after the last step
# a pipelined worker's job waits for the device or the encoder while another job has it:
# time a worker's throughput does not depend on, left out of the job time
WAITING = ("waiting for the device", "waiting for the encoder")


@dataclass(frozen=True)
class Stats:
    samples: int  # jobs measured
    job_seconds: float  # claim to COMPLETED
    step_seconds: float | None  # per denoising step
    steps: int | None  # denoising steps per job
    after_seconds: float | None  # decode + encode + upload


def size_of(params: Mapping[str, Any]) -> str:
    """The size a job's time depends on, from its parameters: quality, seconds, motion."""
    motion = params.get("motion_mode") or "normal"
    return f"{params.get('quality')} {params.get('duration')}s {motion}"[:64]


def record(conn: Connection, slug: str, size: str, timings: Mapping[str, float]) -> None:
    """Fold one completed job's `timings` (see worker/progress.py) into its running means."""
    now = time.time()
    after = sum(timings.get(stage, 0.0) for stage in AFTER_DENOISING)
    fresh = {
        "job_seconds": float(timings.get("total", 0.0))
        - sum(timings.get(stage, 0.0) for stage in WAITING),
        "step_seconds": timings.get("step_seconds"),
        "steps": int(timings["steps"]) if timings.get("steps") else None,
        "after_seconds": after,
    }
    row = conn.execute(
        select(timing_stats).where(timing_stats.c.slug == slug, timing_stats.c.size == size)
    ).one_or_none()
    values: dict[str, Any] = dict(fresh)
    samples = 1
    if row is not None:
        samples = row.samples + 1
        for name, new in fresh.items():
            old = getattr(row, name)
            if name == "steps" or new is None or old is None:
                values[name] = new if new is not None else old
            else:
                values[name] = (1 - WEIGHT) * old + WEIGHT * new
    values.update(samples=samples, updated_at=now)
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(timing_stats)
    conn.execute(
        insert.values(slug=slug, size=size, **values).on_conflict_do_update(
            index_elements=["slug", "size"], set_=values
        )
    )


def load(db: Engine) -> dict[tuple[str, str], Stats]:
    """Every (slug, size) -> its measured Stats (a small table: one row per size seen)."""
    with db.connect() as conn:
        rows = conn.execute(select(timing_stats)).all()
    return {
        (row.slug, row.size): Stats(
            row.samples, row.job_seconds, row.step_seconds, row.steps, row.after_seconds
        )
        for row in rows
    }


def eta_seconds(
    job: Job,
    stats: Stats | None,
    *,
    queue_position: int | None,
    workers: int,
    run: Callable[[], float | None] | None = None,
) -> float | None:
    """Seconds until `job` is likely done (see the module's docstring), or None. `run()`:
    the seconds one run of this job takes (`reelforge/eta.py`: measured, else from its FLOPs),
    asked only when needed; without it, the measured job time of its size, if any."""
    if job.terminal:
        return 0.0
    denoising = job.status is Status.PROCESSING and job.stage == "denoising"
    if denoising and job.step_seconds and job.steps:  # its own rate: nothing else needed
        after = stats.after_seconds if stats and stats.after_seconds else 0.0
        remaining = (job.steps - (job.step or 0)) * job.step_seconds + after
        return round(max(0.0, remaining), 1)
    seconds = run() if run is not None else None
    if seconds is None and stats is not None:
        seconds = stats.job_seconds
    if seconds is None:
        return None
    if job.status is Status.PROCESSING:
        remaining = seconds * (1.0 - job.progress)
    elif workers > 0:
        remaining = queued_seconds(seconds, queue_position or 0, workers)
    else:
        return None  # no live worker serves it
    return round(max(0.0, remaining), 1)


def queued_seconds(job_seconds: float, ahead: int, workers: int) -> float:
    """A QUEUED job's ETA: the jobs ahead shared among the workers, then its own run
    (also the estimate route's, `api/estimate_routes.py`)."""
    return (ahead / workers + 1.0) * job_seconds


class StatsCache:
    """`load` at most every `max_age` seconds: an API process answers many status reads
    from one read of the (small, slowly changing) means."""

    def __init__(self, db: Engine, max_age: float = 5.0):
        self.db = db
        self.max_age = max_age
        self._loaded_at = float("-inf")
        self._stats: dict[tuple[str, str], Stats] = {}
        self._reloading = threading.Lock()  # one reload at a time, however many ask

    @property
    def loaded(self) -> bool:
        return self._loaded_at > float("-inf")

    @property
    def fresh(self) -> bool:
        """Whether `get` answers from memory now (else it reads the database first)."""
        return time.monotonic() - self._loaded_at <= self.max_age

    def get(self, slug: str, size: str) -> Stats | None:
        """The means of (slug, size), read again first when they are older than max_age."""
        if not self.fresh:
            self._reload()
        return self._stats.get((slug, size))

    def peek(self, slug: str, size: str) -> Stats | None:
        """The same without waiting (for the event loop, once `loaded`): means up to a
        reload older, the reload done meanwhile by a thread of its own."""
        if not self.fresh and not self._reloading.locked():
            reload = threading.Thread(target=self._reload_quietly, name="timings", daemon=True)
            reload.start()
        return self._stats.get((slug, size))

    def _reload(self) -> None:
        with self._reloading:
            if not self.fresh:  # else another caller reloaded while this one waited
                self._stats = load(self.db)
                self._loaded_at = time.monotonic()

    def _reload_quietly(self) -> None:
        try:
            self._reload()
        except Exception as exc:  # the database is down: keep the old means, say so
            log.warning("could not reload the measured times (%s)", type(exc).__name__)
