"""A SIGTERM to the worker (worker/interrupts.py) interrupts it only where that is safe:
inside the engine's generate and the idle waits, never inside a database statement. One
that lands in a progress write waits for the write to end, then the job goes back to the
queue and the database is left unlocked (it once failed the job with PendingRollbackError,
or left a pooled SQLite connection holding the write lock, and the worker hung)."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.jobs import Status
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask
from reelforge.worker import Shutdown, interrupts
from reelforge.worker.interrupts import Interrupts
from tests.support.fake_engine import FakeEngine
from tests.worker.conftest import small_job


@pytest.fixture
def sigusr1() -> Iterator[Interrupts]:
    """A private Interrupts that SIGUSR1 (sent to ourselves) requests."""
    owner = Interrupts()
    previous = signal.signal(signal.SIGUSR1, lambda *_: owner.request())
    yield owner
    signal.signal(signal.SIGUSR1, previous)


def _signal() -> None:
    os.kill(os.getpid(), signal.SIGUSR1)  # the handler runs before this call returns


def test_a_signal_inside_a_region_raises_at_once(sigusr1):
    with pytest.raises(Shutdown), sigusr1.interruptible():
        _signal()
        pytest.fail("the region went on after the signal")


def test_a_signal_outside_waits_for_the_next_region(sigusr1):
    _signal()  # nothing to interrupt safely here: only noted
    with pytest.raises(Shutdown), sigusr1.interruptible():
        pytest.fail("the region was entered with a shutdown pending")
    with sigusr1.interruptible():  # once raised, it is over
        _signal()  # and a second signal adds nothing
        pass


def test_a_shield_defers_the_signal_to_its_end(sigusr1):
    finished = []
    with pytest.raises(Shutdown), sigusr1.interruptible():
        with sigusr1.shielded():
            _signal()
            finished.append("the shielded write")
        pytest.fail("the region went on after the shield")
    assert finished == ["the shielded write"]


def test_other_threads_are_never_interrupted(sigusr1):
    seen: list[BaseException] = []

    def elsewhere() -> None:
        try:
            with sigusr1.interruptible():
                pass
        except BaseException as exc:
            seen.append(exc)

    _signal()
    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == []


class _SignalOnDevice(FakeEngine):
    """The fake engine; it tells the test when it starts generating."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.started = threading.Event()

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        self.started.set()
        return super().generate(task, progress, cancelled)


def test_a_sigterm_inside_a_progress_write_hands_the_job_back(make_worker, database_url):
    engine = _SignalOnDevice(Settings())
    worker = make_worker(engine, pipeline_depth=0)
    job = worker.queue.submit(small_job())
    sent: list[str] = []

    # the signal arrives while the main thread is inside the progress UPDATE's execute
    @event.listens_for(worker.db, "before_cursor_execute")
    def _inside(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        on_main = threading.current_thread() is threading.main_thread()
        if on_main and engine.started.is_set() and statement.startswith("UPDATE jobs") and not sent:
            sent.append(statement)
            os.kill(os.getpid(), signal.SIGTERM)

    @event.listens_for(worker.db, "after_cursor_execute")
    def _after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if sent and statement == sent[0]:
            finished.append(statement)

    finished: list[str] = []
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    interrupts.install(stop)
    try:
        with pytest.raises(Shutdown):
            worker.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        interrupts.INTERRUPTS.forget()
    assert sent, "the engine never wrote its progress"
    back = worker.queue.get(job.id)
    assert back is not None
    assert (back.status, back.attempt, back.worker_id) == (Status.QUEUED, 0, None)
    assert finished == sent  # the write the signal landed in went through first
    if database_url.startswith("sqlite"):  # nobody holds the write lock
        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0) as raw:
            raw.execute("BEGIN IMMEDIATE")
            raw.rollback()
