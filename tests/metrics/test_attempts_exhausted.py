"""A job whose workers kept dying ends FAILED inside a claim: that claim counts it."""

from __future__ import annotations

from prometheus_client import REGISTRY

from reelforge.jobs import JobQueue, NewJob, Status, connect, migrate
from tests.support.clock import ManualClock


def _failed(model: str) -> float:
    return REGISTRY.get_sample_value("reelforge_jobs_failed_total", {"model": model}) or 0.0


def test_a_job_out_of_attempts_is_counted_failed_once(tmp_path):
    db = connect(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(db)
    clock = ManualClock()
    queue = JobQueue(db, retention=3600, lease=30, max_attempts=1, clock=clock)
    model = "pixverse-exhausted-test"  # a label of its own: other tests count elsewhere
    job = queue.submit(NewJob(slug=model, owner="a", params={}))
    before = _failed(model)
    assert queue.claim("w1") is not None  # its worker dies: the lease lapses
    clock.advance(31)
    assert queue.claim("w2") is None  # out of attempts: FAILED, not claimed
    assert queue.claim("w3") is None
    assert queue.get(job.id).status is Status.FAILED
    assert _failed(model) == before + 1
    db.dispose()
