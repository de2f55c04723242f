"""The pipelined worker (worker/pipeline.py): the next job is prepared and the last one
finished while the device generates, and every queue promise still holds: a lost claim
changes nothing, a stopping worker hands back what it has not run, a worker killed while
it encodes leaves the job to be claimed again and completed."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import update

from reelforge import endpoints
from reelforge.engines import CancelledFn, ProgressFn
from reelforge.jobs import Job, NewJob, Status
from reelforge.jobs.schema import jobs
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask
from reelforge.worker import Worker
from reelforge.worker.pipeline import Run
from tests.support.checks import assert_video
from tests.support.fake_engine import FakeEngine
from tests.support.server import FAKE_ENGINE
from tests.support.worker_process import WorkerProc, wait_for
from tests.worker.conftest import small_job

HOLD_SECONDS = 0.6  # how long the recording engine holds the device per job
SLOW_ENCODE_ENGINE = "tests.support.engines.slow_encode:SlowEncodeEngine"


class DeviceEngine(FakeEngine):
    """The fake engine, holding "the device" HOLD_SECONDS per job and noting when."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.spans: list[tuple[int, float, float]] = []  # (seed, start, end)
        self.on_start: Callable[[int], None] = lambda _seed: None

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        start = time.monotonic()
        self.on_start(task.seed)
        time.sleep(HOLD_SECONDS)
        clip = super().generate(task, progress, cancelled)
        self.spans.append((task.seed, start, time.monotonic()))
        return clip


def spy_stages(worker: Worker) -> dict[str, dict[int, tuple[float, float]]]:
    """When each job (by seed) was prepared and finished: stage -> seed -> (start, end)."""
    seen: dict[str, dict[int, tuple[float, float]]] = {"prepare": {}, "finish": {}}
    for stage in seen:
        real = getattr(worker, f"_{stage}")

        def timed(run: Run, real: Callable[[Run], None] = real, stage: str = stage) -> None:
            start = time.monotonic()
            real(run)
            seen[stage][run.job.params["seed"]] = (start, time.monotonic())

        setattr(worker, f"_{stage}", timed)
    return seen


def run_worker(worker: Worker, until: Callable[[], bool], timeout: float = 60) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            worker.run(stop)
        except BaseException as exc:  # raised below
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        wait_for(until, timeout, "the jobs to end")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and not errors, errors


def current(worker: Worker, job_id: str) -> Job:
    job = worker.queue.get(job_id)
    assert job is not None
    return job


def test_the_next_job_is_prepared_and_the_last_finished_while_the_device_runs(make_worker):
    worker = make_worker(DeviceEngine(Settings()))
    engine = worker.engine
    assert isinstance(engine, DeviceEngine)
    seen = spy_stages(worker)
    ids = [worker.queue.submit(small_job(seed)).id for seed in (1, 2, 3)]
    run_worker(worker, lambda: all(current(worker, i).status is Status.COMPLETED for i in ids))
    device = {seed: (start, end) for seed, start, end in engine.spans}
    assert sorted(device) == [1, 2, 3]
    for seed in (1, 2):
        # job seed+1 was claimed and its inputs made ready before the device was free ...
        assert seen["prepare"][seed + 1][1] < device[seed][1]
        # ... and job seed was encoded and stored while the device ran job seed+1
        finish_start, finish_end = seen["finish"][seed]
        assert device[seed + 1][0] < finish_end and finish_start < device[seed + 1][1]
    for job_id in ids:  # each once, by the first claim, with its file
        job = current(worker, job_id)
        assert (job.attempt, job.output_key) == (1, f"outputs/{job_id}/1.mp4")
        local = worker.storage.local_path(job.output_key)
        assert local is not None and local.stat().st_size > 0
    for job_id in ids[1:]:  # prepared ahead: it waited for the device, and that was timed
        assert "waiting for the device" in (current(worker, job_id).timings or {})


def test_depth_0_is_the_serial_worker_one_job_at_a_time(make_worker):
    worker = make_worker(DeviceEngine(Settings()), pipeline_depth=0)
    seen = spy_stages(worker)
    ids = [worker.queue.submit(small_job(seed)).id for seed in (1, 2)]
    run_worker(worker, lambda: all(current(worker, i).status is Status.COMPLETED for i in ids))
    assert seen["prepare"][2][0] >= seen["finish"][1][1]  # nothing prepared ahead
    assert "waiting for the device" not in (current(worker, ids[1]).timings or {})


def test_a_claim_lost_during_the_upload_leaves_no_file_and_no_record_change(make_worker):
    worker = make_worker()
    submitted = worker.queue.submit(small_job())
    taken: list[Job] = []
    real_put = worker.storage.put

    def put_after_a_takeover(key: str, source: Path) -> None:
        if not taken:  # the lease lapses (a paused machine) and another worker claims it
            with worker.db.begin() as conn:
                conn.execute(update(jobs).where(jobs.c.id == submitted.id).values(lease_until=0))
            thief = worker.queue.claim("another-worker")
            assert thief is not None and thief.attempt == 2
            taken.append(current(worker, submitted.id))
        real_put(key, source)

    worker.storage.put = put_after_a_takeover  # type: ignore[method-assign]
    job = worker.queue.claim(worker.id)
    assert job is not None
    worker.process(job)
    assert taken, "the upload never happened"
    after = current(worker, submitted.id)
    assert dataclasses.asdict(after) == dataclasses.asdict(taken[0])  # not one field changed
    assert (after.status, after.worker_id) == (Status.PROCESSING, "another-worker")
    for key in (f"outputs/{submitted.id}/1.mp4", f"outputs/{submitted.id}/1.jpg"):
        local = worker.storage.local_path(key)
        assert local is not None and not local.exists(), key


def test_stopping_hands_the_prepared_job_back_and_finishes_the_one_generated(make_worker):
    engine = DeviceEngine(Settings())
    worker = make_worker(engine)
    first, second = (worker.queue.submit(small_job(seed)) for seed in (1, 2))
    stop = threading.Event()
    engine.on_start = lambda seed: stop.set() if seed == 1 else None
    prepared = threading.Event()
    real_prepare = worker._prepare

    def prepare(run: Run) -> None:
        real_prepare(run)
        if run.job.id == second.id:
            prepared.set()

    worker._prepare = prepare  # type: ignore[method-assign]
    worker.run(stop)  # returns once the device's job is done and handed on
    assert prepared.is_set(), "the second job was never prepared ahead"
    assert current(worker, first.id).status is Status.COMPLETED
    back = current(worker, second.id)
    assert (back.status, back.attempt, back.worker_id) == (Status.QUEUED, 0, None)
    # and it runs like any queued job
    run_worker(worker, lambda: current(worker, second.id).status is Status.COMPLETED)
    assert current(worker, second.id).attempt == 1


def test_a_worker_killed_while_encoding_leaves_the_job_to_be_claimed_again(
    app_with_worker, tmp_path
):
    app = app_with_worker(engine=None, lease_seconds=2.0, heartbeat_seconds=0.5)
    key = app.issue_key(10.0)
    body: dict[str, Any] = {"prompt": "a lighthouse", "duration": 1, "quality": "360p",
                            "generate_audio_switch": False, "seed": 7}  # fmt: skip
    request_id = app.submit(key, "pixverse-v6", body)
    slow = WorkerProc("slow", app.worker_env(engine=SLOW_ENCODE_ENGINE), tmp_path / "slow.log")
    fast = WorkerProc("fast", app.worker_env(engine=FAKE_ENGINE), tmp_path / "fast.log")
    try:
        slow.start()
        wait_for(
            lambda: app.status(key, request_id).json().get("stage") == "encoding mp4",
            60,
            "the slow worker to be encoding",
        )
        slow.signal(signal.SIGKILL)
        assert slow.wait_exit(10) == -signal.SIGKILL
        fast.start().wait_ready()
        done = app.wait(key, request_id, timeout=60)
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["attempt"]) == ("COMPLETED", 2)
    finally:
        slow.stop()
        fast.stop()
    # one file, the second attempt's; the killed attempt stored nothing
    outputs = app.settings.resolved_storage_dir / "outputs" / request_id
    assert sorted(path.name for path in outputs.iterdir()) == ["2.jpg", "2.mp4"]
    assert_video(outputs / "2.mp4", 640, 360, 25, False)
    assert app.credits(key)["credits"] == 9.0  # charged once


def test_no_job_is_prepared_ahead_while_the_inputs_held_fill_the_budget(make_worker, media_server):
    """Issue 21: prefetching kept several jobs' decoded inputs alive at once. The inputs of
    the jobs in flight count against one budget; the next job is prepared ahead only while
    one more of the largest still fits."""
    endpoint = endpoints.get("pixverse-v6")
    assert endpoint is not None

    def job_with_an_image(seed: int) -> NewJob:
        body = {"prompt": "a lighthouse", "duration": 1, "quality": "360p",
                "generate_audio_switch": False, "seed": seed,
                "image_url": media_server.url("input.png")}  # fmt: skip
        return NewJob(slug="pixverse-v6", owner="admin", params=endpoint.validate(body))

    held = 320 * 180 * 3  # input.png, decoded (smaller than a 360p job: kept as it is)
    for budget, ahead in ((held + 200_000 - 1, False), (held + 200_000, True)):
        worker = make_worker(
            DeviceEngine(Settings()),
            allow_private_urls=True,
            max_decoded_input_bytes=200_000,
            input_memory_budget=budget,
        )
        engine = worker.engine
        assert isinstance(engine, DeviceEngine)
        seen = spy_stages(worker)
        ids = [worker.queue.submit(job_with_an_image(seed)).id for seed in (1, 2)]
        run_worker(worker, lambda: all(current(worker, i).status is Status.COMPLETED for i in ids))  # noqa: B023
        first_done = next(end for seed, _start, end in engine.spans if seed == 1)
        assert (seen["prepare"][2][1] < first_done) is ahead, (budget, seen, engine.spans)
