"""What the fleet measured (timing_stats) and the ETAs made from it: running means per
model and size, written with a job's COMPLETED, and estimates only from measurements."""

from __future__ import annotations

import dataclasses

from reelforge.jobs import NewJob, Status, timings
from reelforge.jobs.timings import Stats

PARAMS = {"prompt": "x", "quality": "540p", "duration": 5, "motion_mode": "normal"}


def _measured(total: float, step: float) -> dict[str, float]:
    return {
        "fetching inputs": 0.1,
        "denoising": 10 * step,
        "decoding": 0.5,
        "encoding mp4": 0.3,
        "uploading": 0.2,
        "total": total,
        "steps": 10.0,
        "step_seconds": step,
    }


def test_completing_a_job_folds_its_times_into_the_means_of_its_size(make_queue):
    queue = make_queue()
    for total, step in ((10.0, 0.8), (20.0, 1.8)):
        queue.submit(NewJob(slug="pixverse-v6", owner="a", params=PARAMS))
        job = queue.claim("w")
        assert job is not None
        measured = _measured(total, step)
        assert queue.complete(job, output_key="k", video={}, inference_time=1, cost=1,
                              measured=measured)  # fmt: skip
        assert queue.get(job.id).timings == measured  # kept on the job too
    stats = timings.load(queue.db)[("pixverse-v6", "540p 5s normal")]
    assert stats.samples == 2
    assert stats.job_seconds == 0.8 * 10.0 + 0.2 * 20.0  # the running mean's weight
    assert abs(stats.step_seconds - (0.8 * 0.8 + 0.2 * 1.8)) < 1e-9
    assert stats.steps == 10 and abs(stats.after_seconds - 1.0) < 1e-9
    # another size has measurements of its own, none yet
    assert ("pixverse-v6", "1080p 5s normal") not in timings.load(queue.db)


def test_a_failed_job_measures_nothing(make_queue):
    queue = make_queue()
    queue.submit(NewJob(slug="pixverse-v6", owner="a", params=PARAMS))
    job = queue.claim("w")
    assert job is not None and queue.fail(job, "no")
    assert timings.load(queue.db) == {}


def _job(make_queue, **values):
    queue = make_queue()
    job = queue.submit(NewJob(slug="pixverse-v6", owner="a", params=PARAMS))
    return dataclasses.replace(job, **values)


STATS = Stats(samples=3, job_seconds=20.0, step_seconds=1.5, steps=10, after_seconds=2.0)


def test_eta_while_denoising_uses_the_jobs_own_step_rate(make_queue):
    job = _job(make_queue, status=Status.PROCESSING, stage="denoising", step=4, steps=10,
               step_seconds=0.5, progress=0.4)  # fmt: skip
    assert timings.eta_seconds(job, STATS, queue_position=None, workers=1) == 6 * 0.5 + 2.0
    # without measurements of its size, only the steps left
    assert timings.eta_seconds(job, None, queue_position=None, workers=1) == 3.0


def test_eta_in_other_stages_is_the_measured_job_time_left(make_queue):
    job = _job(make_queue, status=Status.PROCESSING, stage="encoding prompt", progress=0.25)
    assert timings.eta_seconds(job, STATS, queue_position=None, workers=1) == 15.0
    assert timings.eta_seconds(job, None, queue_position=None, workers=1) is None


def test_eta_of_a_queued_job_shares_the_queue_ahead_among_the_workers(make_queue):
    job = _job(make_queue)
    assert timings.eta_seconds(job, STATS, queue_position=0, workers=1) == 20.0
    assert timings.eta_seconds(job, STATS, queue_position=4, workers=2) == 60.0
    assert timings.eta_seconds(job, STATS, queue_position=4, workers=0) is None  # none serves
    assert timings.eta_seconds(job, None, queue_position=0, workers=1) is None  # unmeasured


def test_the_size_of_a_job_is_its_quality_length_and_motion():
    assert timings.size_of(PARAMS) == "540p 5s normal"
    assert timings.size_of({**PARAMS, "motion_mode": "fast"}) == "540p 5s fast"
    assert timings.size_of({"quality": "720p", "duration": 8}) == "720p 8s normal"


def test_eta_without_measurements_uses_the_run_it_is_given(make_queue):
    """`run` is reelforge/eta.py's run of the job (measured, else from its FLOPs): asked only
    when the job's own step rate does not answer."""
    asked: list[bool] = []

    def run() -> float:
        asked.append(True)
        return 30.0

    queued = _job(make_queue)
    assert timings.eta_seconds(queued, None, queue_position=1, workers=1, run=run) == 60.0
    assert timings.eta_seconds(queued, None, queue_position=1, workers=0, run=run) is None
    encoding = _job(make_queue, status=Status.PROCESSING, stage="encoding prompt", progress=0.25)
    assert timings.eta_seconds(encoding, None, queue_position=None, workers=1, run=run) == 22.5
    asked.clear()
    denoising = _job(make_queue, status=Status.PROCESSING, stage="denoising", step=4, steps=10,
                     step_seconds=0.5, progress=0.4)  # fmt: skip
    assert timings.eta_seconds(denoising, None, queue_position=None, workers=1, run=run) == 3.0
    assert asked == []
