"""Keeping the device busy: the worker's jobs in flight, and the threads around the device.

A job goes through three stages (loop.py): *prepare* (fetch and decode its inputs, plan
the task), *generate* (the engine, on the device) and *finish* (encode the mp4 and its
thumbnail, probe, store, record COMPLETED). Only the middle one needs the device, so a
pipelined worker overlaps the other two with it:

* while the device generates job N, a `Prefetch` thread claims job N+1 and prepares it
  (one job at most: a claimed job waits as PROCESSING, stage "waiting for the device");
* job N-1 is finished meanwhile by the `Finisher` thread, which takes at most
  `REELFORGE_PIPELINE_DEPTH` generated jobs at once (one finishing, the rest waiting):
  the device waits only when the finisher falls that far behind, which bounds memory to
  that many decoded clips besides the one being generated.

Every job in flight keeps its own heartbeat from its claim to its end, and every write
stays fenced by its claim, so a crash or a lost claim in any stage leaves each job as the
queue promises: claimed again after its lease, or ended once (queue.py).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelforge.jobs import Job

if TYPE_CHECKING:
    from reelforge.endpoints.base import Endpoint
    from reelforge.task import Clip, GenerationTask
    from reelforge.worker.heartbeat import Heartbeat

log = logging.getLogger("reelforge.worker")


class Run:
    """One claimed job on its way through a worker: its heartbeat, its working directory
    and what each stage made of it."""

    def __init__(self, job: Job, beat: Heartbeat):
        self.job = job
        self.beat = beat
        self.workdir: Path | None = None  # made by the prepare stage
        self.endpoint: Endpoint | None = None
        self.task: GenerationTask | None = None
        self.input_bytes = 0  # memory its decoded inputs take (the worker's input budget)
        self.clip: Clip | None = None  # the engine's output, until it is encoded
        self.manifest: dict[str, Any] | None = None  # what made it (worker/manifests.py)
        self.seconds: dict[str, float] = {}  # device and encode time: the inference_time
        self.output: Any = None  # the stored result (loop.Output), waiting to be recorded
        self.ended = threading.Event()  # its end is written (or it was handed back)


class Finisher:
    """One thread that finishes generated jobs in order, `depth` of them at most."""

    def __init__(self, finish: Callable[[Run], None], depth: int):
        self._finish = finish
        self._slots = threading.BoundedSemaphore(depth)
        self._queue: queue.Queue[Run | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._serve, name="finisher", daemon=True)
        self._thread.start()

    def submit(self, run: Run) -> None:
        """Hand `run` over; blocks while `depth` jobs are finishing or waiting for it."""
        self._slots.acquire()
        with self._idle:
            self._pending += 1
        self._queue.put(run)

    @property
    def busy(self) -> bool:
        """Whether a job handed over now would wait for an earlier one."""
        with self._idle:
            return self._pending > 0

    def drain(self, timeout: float) -> bool:
        """Wait until every job handed over is finished; False if some still are not."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _serve(self) -> None:
        while (run := self._queue.get()) is not None:
            try:
                self._finish(run)
            except BaseException:  # the finish records its own failures; this is a bug
                log.exception("finishing job %s failed", run.job.id)
            finally:
                self._slots.release()
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


class Prefetch:
    """A thread that gets the next job ready while the device runs the current one.

    `claim_next(device_done)` claims and prepares one job, looking again on each wake-up
    until `device_done` is set; it returns the prepared Run or None."""

    def __init__(self, claim_next: Callable[[threading.Event], Run | None]):
        self.device_done = threading.Event()
        self._result: Run | None = None
        self._claim_next = claim_next
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._claim_next(self.device_done)
        except BaseException:  # claim_next handles faults; anything else is a bug
            log.exception("preparing the next job failed")

    def result(self) -> Run | None:
        """Once the device is done: the prepared job, if one was found."""
        self.device_done.set()
        self._thread.join()
        return self._result

    def result_within(self, timeout: float) -> Run | None:
        """The same, waiting at most `timeout` seconds (a worker shutting down)."""
        self.device_done.set()
        self._thread.join(timeout)
        return self._result
