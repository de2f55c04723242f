"""A fault of the machine (a full disk, a storage or database error) is not the request's:
the job goes back to the queue with a back-off, keeps its attempts, and completes once
the fault has passed; the worker itself rides the fault out."""

from __future__ import annotations

import errno
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import InternalError, OperationalError

from reelforge import views
from reelforge.jobs import Job, NewJob, Status, fleet
from reelforge.worker import Worker, faults, loop
from tests.support.clock import ManualClock
from tests.support.fake_engine import FakeEngine
from tests.worker.conftest import small_job
from tests.worker.full_disk import FullDisk


def database_full() -> OperationalError:
    """What SQLAlchemy raises when SQLite cannot grow its file."""
    cause = sqlite3.OperationalError("database or disk is full")
    return OperationalError("UPDATE jobs ...", {}, cause)


def claim_when_due(worker: Worker, timeout: float = 10.0) -> Job:
    """Claim the next job, waiting out its back-off."""
    deadline = time.monotonic() + timeout
    while (job := worker.queue.claim(worker.id, worker.slugs)) is None:
        assert time.monotonic() < deadline, "no job became claimable"
        time.sleep(0.02)
    return job


def current(worker: Worker, job_id: str) -> Job:
    job = worker.queue.get(job_id)
    assert job is not None
    return job


def test_a_full_disk_puts_the_job_back_and_it_completes_once_space_is_back(make_worker, temp_dir):
    worker = make_worker()
    disk = FullDisk(worker.storage)
    worker.storage = disk
    submitted = worker.queue.submit(small_job())
    worker.process(claim_when_due(worker))
    # 1. Back in the queue, saying why, its attempt not counted, its files gone
    waiting = current(worker, submitted.id)
    assert waiting.status is Status.QUEUED
    assert (waiting.attempt, waiting.fault_retries) == (0, 1)
    assert waiting.not_before is not None and waiting.not_before > time.time()
    body = views.status(waiting, views.Links("http://x", waiting.id), queue_position=0)
    assert re.fullmatch(r"retrying after a storage error in [1-9]\d* s", body["stage"]), body
    assert not list(temp_dir.iterdir()), "the job's working directory is left behind"
    assert disk.refused == [f"outputs/{submitted.id}/1.mp4"]
    # 2. Space is back: the same job completes, on its first attempt
    disk.full = False
    worker.process(claim_when_due(worker))
    done = current(worker, submitted.id)
    assert done.status is Status.COMPLETED, done.error
    assert done.attempt == 1 and done.output_key == f"outputs/{submitted.id}/1.mp4"
    assert (disk.inner.root / done.output_key).is_file()
    assert not list(disk.inner.root.rglob("*.partial"))


def test_fault_retries_back_off_and_end_failed_after_the_cap(make_worker, monkeypatch):
    worker = make_worker(max_fault_retries=3, fault_retry_seconds=0.1)
    worker.storage = FullDisk(worker.storage)
    delays: list[float] = []
    retry_later = worker.queue.retry_later

    def spy(job: Job, reason: str, delay: float) -> bool:
        delays.append(delay)
        return retry_later(job, reason, delay)

    monkeypatch.setattr(worker.queue, "retry_later", spy)
    submitted = worker.queue.submit(small_job())
    for _ in range(3):
        worker.process(claim_when_due(worker))
        assert current(worker, submitted.id).status is Status.QUEUED
    assert delays == [0.1, 0.2, 0.4]  # doubling
    worker.process(claim_when_due(worker))
    failed = current(worker, submitted.id)
    assert failed.status is Status.FAILED
    assert failed.error == "gave up after 3 retries: a storage error on the server"
    # four runs, and its attempts (max 3, for dead workers) were never used up
    assert failed.attempt == 1


def test_the_back_off_schedule():
    assert [faults.retry_delay(n, 2.0) for n in range(10)] == [
        2, 4, 8, 16, 32, 64, 128, 256, 300, 300,
    ]  # fmt: skip
    backoff = faults.Backoff(1.0, 60.0)
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    backoff.reset()
    assert backoff.next() == 1


class _Sqlstate(Exception):
    def __init__(self, sqlstate: str):
        super().__init__("terminated")
        self.sqlstate = sqlstate


def test_what_counts_as_a_fault_of_the_machine():
    full = OSError(errno.ENOSPC, "No space left on device", "/srv/files/outputs/x.partial")
    assert faults.fault_of(full) == faults.Fault(
        "a full disk", "OSError: [Errno 28] No space left on device"
    )
    assert faults.fault_of(OSError(errno.EIO, "Input/output error")).what == "a disk error"
    assert faults.fault_of(database_full()).what == "a database error"
    try:  # a library that wraps the disk's error still had a full disk
        try:
            raise full
        except OSError as exc:
            raise RuntimeError("encoder failed") from exc
    except RuntimeError as wrapped:
        assert faults.fault_of(wrapped).what == "a full disk"
    # PostgreSQL ending a session idle in its transaction (a server frozen past the
    # timeout, issue 21): the connection's fault, not the job's
    cut = InternalError("UPDATE jobs", {}, _Sqlstate("25P03"))
    assert faults.fault_of(cut) == faults.Fault("a database error", "_Sqlstate: terminated")
    assert faults.fault_of(InternalError("q", {}, _Sqlstate("XX000"))) is None  # a real bug
    # the request's problems, and bugs, are not faults of the machine
    assert faults.fault_of(FileNotFoundError(errno.ENOENT, "no such file")) is None
    assert faults.fault_of(ValueError("bad frame size")) is None


def test_a_bug_still_fails_the_job_at_once(make_worker):
    class Broken(FakeEngine):
        def generate(self, task, progress, cancelled):
            raise RuntimeError("a bug")

    worker = make_worker()
    worker.engine = Broken(worker.settings)
    submitted = worker.queue.submit(small_job())
    worker.process(claim_when_due(worker))
    failed = current(worker, submitted.id)
    assert failed.status is Status.FAILED
    assert failed.error == "internal error while generating: RuntimeError"
    assert failed.fault_retries == 0


def test_a_database_error_on_the_last_write_is_retried_not_the_job(make_worker, monkeypatch):
    monkeypatch.setattr(loop, "DB_RETRY_FIRST_SECONDS", 0.01)
    worker = make_worker()
    runs = []
    generate = worker.engine.generate
    worker.engine.generate = lambda *args: runs.append(1) or generate(*args)
    complete = worker.queue.complete
    tries = []

    def flaky_complete(*args: Any, **kwargs: Any) -> bool:
        tries.append(1)
        if len(tries) <= 2:
            raise database_full()
        return complete(*args, **kwargs)

    monkeypatch.setattr(worker.queue, "complete", flaky_complete)
    submitted = worker.queue.submit(small_job())
    worker.process(claim_when_due(worker))
    done = current(worker, submitted.id)
    assert done.status is Status.COMPLETED, done.error
    assert (done.attempt, len(runs), len(tries)) == (1, 1, 3)


def test_the_worker_rides_out_a_database_that_fails(make_worker, monkeypatch):
    """Claims fail for a while, and every presence and progress write fails throughout
    (a full disk): the worker neither crashes nor loses the job."""
    monkeypatch.setattr(loop, "DB_RETRY_FIRST_SECONDS", 0.01)
    worker = make_worker()
    claim = worker.queue.claim
    claims: list[int] = []

    def flaky_claim(*args: Any, **kwargs: Any) -> Job | None:
        claims.append(1)
        if len(claims) <= 3:
            raise database_full()
        return claim(*args, **kwargs)

    def always_full(*_args: Any, **_kwargs: Any) -> Any:
        raise database_full()

    monkeypatch.setattr(worker.queue, "claim", flaky_claim)
    monkeypatch.setattr(worker.queue, "report_progress", always_full)
    monkeypatch.setattr(fleet, "beat", always_full)
    submitted = worker.queue.submit(small_job())
    stop = threading.Event()
    crashed: list[BaseException] = []
    thread = threading.Thread(target=_run, args=(worker, stop, crashed))
    thread.start()
    try:
        _wait(lambda: current(worker, submitted.id).status is Status.COMPLETED, 30)
    finally:
        stop.set()
        thread.join(10)
    assert not crashed and not thread.is_alive()
    assert current(worker, submitted.id).attempt == 1


def test_claims_wait_out_the_back_off(make_worker):
    queue = make_worker().queue
    queue.clock = clock = ManualClock()
    submitted = queue.submit(small_job())
    job = queue.claim("w1")
    assert job is not None
    assert queue.retry_later(job, "retrying after a full disk", 8)
    waiting = current_in(queue, submitted.id)
    assert (waiting.status, waiting.attempt, waiting.fault_retries) == (Status.QUEUED, 0, 1)
    assert waiting.stage == "retrying after a full disk"
    later = queue.submit(NewJob(slug="pixverse-v6", owner="admin", params=small_job(2).params))
    assert queue.claim("w2").id == later.id  # a younger job goes first meanwhile
    clock.advance(7.9)
    assert queue.claim("w2") is None
    clock.advance(0.2)
    again = queue.claim("w3")
    assert again is not None and again.id == submitted.id and again.attempt == 1
    assert not queue.retry_later(job, "late", 1)  # the old claim is fenced off


def current_in(queue: Any, job_id: str) -> Job:
    job = queue.get(job_id)
    assert job is not None
    return job


def _run(worker: Worker, stop: threading.Event, crashed: list[BaseException]) -> None:
    try:
        worker.run(stop)
    except BaseException as exc:  # the test asserts there was none
        crashed.append(exc)


def _wait(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
