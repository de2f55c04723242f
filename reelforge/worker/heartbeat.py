"""Keeping a claim alive while a job runs, and noticing when it should stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from reelforge.jobs import Job, JobQueue, fleet
from reelforge.worker import faults
from reelforge.worker.interrupts import INTERRUPTS
from reelforge.worker.progress import StageClock

log = logging.getLogger("reelforge.worker")

PROGRESS_WRITE_SECONDS = 0.5  # at most two progress writes a second per job


class Heartbeat:
    """A background thread that renews the job's lease every `interval` seconds and
    raises `stop_requested` when the owner cancelled or the claim was lost."""

    def __init__(
        self,
        queue: JobQueue,
        job: Job,
        interval: float,
        on_device: Callable[[], str | None] | None = None,
    ):
        self.queue = queue
        self.job = job
        # what the worker's presence names as its current job (a pipelined worker has
        # several in flight: the one on its device); by default this one
        self._on_device = on_device or (lambda: job.id)
        self.interval = interval
        self.stop_requested = threading.Event()
        self.claim_lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job.id}", daemon=True)
        self._last_progress = 0.0
        self._last_stage: str | None = None
        self.clock = StageClock()  # what each stage took: the job's timings

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def cancelled(self) -> bool:
        return self.stop_requested.is_set()

    def progress(self, fraction: float, stage: str) -> None:
        """Record progress: every new stage and the last step at once, steps within a
        stage at most every PROGRESS_WRITE_SECONDS; a lost claim also stops the job."""
        now = time.monotonic()
        report = self.clock.update(fraction, stage)
        new_stage = report.stage != self._last_stage
        last_step = report.step is not None and report.step == report.steps
        if (
            not (new_stage or last_step or fraction >= 1.0)
            and now - self._last_progress < PROGRESS_WRITE_SECONDS
        ):
            return
        self._last_progress, self._last_stage = now, report.stage
        try:
            with INTERRUPTS.shielded():  # a SIGTERM waits for the write to end
                ours, cancel = self.queue.report_progress(
                    self.job,
                    report.fraction,
                    report.stage,
                    step=report.step,
                    steps=report.steps,
                    step_seconds=report.step_seconds,
                )
        except Exception as exc:  # a full disk or a database hiccup: progress can wait
            fault = faults.fault_of(exc)
            if fault is None:
                raise
            log.warning("progress of %s not recorded (%s)", self.job.id, fault.detail)
            return
        if not ours:
            self._lose_claim()
        elif cancel:
            self.stop_requested.set()

    def _beat(self) -> None:
        while not self._done.wait(self.interval):
            try:
                ours, cancel = self.queue.heartbeat(self.job)
            except Exception as exc:  # a database hiccup or a full disk: try again next beat
                self._log_failure("heartbeat", exc)
                continue
            if not ours:
                self._lose_claim()
            elif cancel:
                self.stop_requested.set()
            try:  # a long job must not make its worker look dead
                if self.job.worker_id:
                    fleet.beat(self.queue.db, self.job.worker_id, self._on_device())
            except Exception as exc:
                self._log_failure("presence", exc)

    def _log_failure(self, what: str, exc: Exception) -> None:
        if faults.fault_of(exc) is None:
            log.error("%s of %s failed", what, self.job.id, exc_info=exc)
        else:
            log.warning("%s of %s failed (%s)", what, self.job.id, faults.one_line(exc))

    def _lose_claim(self) -> None:
        if not self.claim_lost.is_set():
            log.warning("lost the claim on %s; stopping it", self.job.id)
        self.claim_lost.set()
        self.stop_requested.set()
