"""Several real `reelforge worker` processes on one PostgreSQL queue: no job runs twice,
none is lost, a killed worker's job is finished by another after its lease, and a
paused worker that wakes up after losing its lease changes nothing."""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from reelforge.jobs import JobQueue, NewJob, Status, connect, migrate
from tests.scale.conftest import (
    LEASE_SECONDS,
    V6,
    WorkerProc,
    all_rows,
    pid_of,
    row,
    small_params,
    wait_for,
)
from tests.scale.recording import read_runs

WORKERS = 3
JOBS = 30


def _outputs(tmp_path: Path) -> set[str]:
    root = tmp_path / "files"
    return {str(path.relative_to(root)) for path in root.rglob("*.mp4")} if root.exists() else set()


def test_n_workers_m_jobs_no_duplicates_none_lost(queue: JobQueue, start_worker, tmp_path):
    step = {"REELFORGE_FAKE_STEP_SECONDS": "0.02"}
    workers = [start_worker(f"w{index}", **step) for index in range(WORKERS)]
    for worker in workers:
        worker.wait_ready()
    submitted = [
        queue.submit(NewJob(slug=V6, owner="admin", params=small_params(seed=1000 + index)))
        for index in range(JOBS)
    ]
    ids = {job.id for job in submitted}

    def all_terminal() -> list | None:
        rows = all_rows(queue)
        return rows if all(job.terminal for job in rows) else None

    rows = wait_for(all_terminal, 90, f"{JOBS} jobs to finish")
    # none lost, none invented, every one COMPLETED on its first and only claim
    assert {job.id for job in rows} == ids
    assert Counter(job.status for job in rows) == {Status.COMPLETED: JOBS}
    assert Counter(job.attempt for job in rows) == {1: JOBS}, "a job was claimed twice"
    # the engine ran each job exactly once, in the process the row names
    runs = read_runs(tmp_path / "runs.log")
    by_seed = Counter(seed for _pid, seed in runs)
    assert sorted(by_seed) == sorted(job.params["seed"] for job in rows)
    assert set(by_seed.values()) == {1}, f"jobs generated twice: {by_seed.most_common(3)}"
    ran_in = dict((seed, pid) for pid, seed in runs)
    for job in rows:
        assert pid_of(job.worker_id) == ran_in[job.params["seed"]]
    # every worker took part, and only our workers did
    pids = {worker.pid for worker in workers}
    per_worker = Counter(pid_of(job.worker_id) for job in rows)
    assert set(per_worker) == pids, f"jobs per worker pid: {dict(per_worker)}"
    # exactly one stored output per job: the one its row points at
    assert _outputs(tmp_path) == {job.output_key for job in rows}
    assert all(job.output_key == f"outputs/{job.id}/1.mp4" for job in rows)


def test_sigkill_mid_job_is_finished_by_another_worker_after_the_lease(
    queue: JobQueue, start_worker, tmp_path
):
    slow = {"REELFORGE_FAKE_STEP_SECONDS": "0.2"}  # about 2 s of "denoising" per job
    workers = [start_worker("a", **slow), start_worker("b", **slow)]
    for worker in workers:
        worker.wait_ready()
    job = queue.submit(NewJob(slug=V6, owner="admin", params=small_params(seed=7)))
    running = wait_for(
        lambda: (
            (found := row(queue, job.id)).stage and found.stage.startswith("denoising") and found
        ),
        20,
        "the job to be running",
        interval=0.02,
    )
    victim = next(worker for worker in workers if worker.pid == pid_of(running.worker_id))
    survivor = next(worker for worker in workers if worker is not victim)
    victim.signal(signal.SIGKILL)
    killed_at = time.time()
    assert victim.process is not None
    victim.process.wait(10)
    time.sleep(0.2)  # a heartbeat committed just before the kill shows by now
    lease_until = row(queue, job.id).lease_until
    assert lease_until is not None and lease_until <= killed_at + LEASE_SECONDS + 0.5

    reclaimed = wait_for(
        lambda: (found := row(queue, job.id)).attempt == 2 and found, 20, "a second claim",
        interval=0.02,
    )  # fmt: skip
    reclaimed_at = time.time()
    assert reclaimed_at >= lease_until, "the job was taken before its lease ran out"
    assert pid_of(reclaimed.worker_id) == survivor.pid
    done = wait_for(lambda: (found := row(queue, job.id)).terminal and found, 30, "completion")
    completed_at = time.time()
    assert done.status is Status.COMPLETED, done.error
    assert done.attempt == 2
    assert pid_of(done.worker_id) == survivor.pid
    assert done.output_key == f"outputs/{job.id}/2.mp4"
    assert _outputs(tmp_path) == {done.output_key}
    seed = job.params["seed"]
    assert read_runs(tmp_path / "runs.log") == [(victim.pid, seed), (survivor.pid, seed)]
    print(
        f"recovery: reclaimed {reclaimed_at - killed_at:.2f} s and completed "
        f"{completed_at - killed_at:.2f} s after SIGKILL (lease {LEASE_SECONDS} s)"
    )


def _busy_sessions(queue: JobQueue, application_name: str) -> int:
    """Sessions of that application inside a transaction (they would hold row locks)."""
    with queue.db.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = :name AND state <> 'idle'"
                ),
                {"name": application_name},
            ).scalar_one()
        )


def _stop_between_transactions(worker: WorkerProc, queue: JobQueue, name: str) -> None:
    """SIGSTOP the worker at a moment when it holds no open transaction: stopped inside
    one, its row lock would hide the job from every other worker's SKIP LOCKED claim
    for as long as it stays stopped (see the report on idle_in_transaction timeouts)."""
    for _ in range(50):
        worker.signal(signal.SIGSTOP)
        time.sleep(0.05)
        if _busy_sessions(queue, name) == 0:
            return
        worker.signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("could not stop the worker outside a transaction")


def test_sigstop_past_the_lease_then_sigcont_changes_nothing(
    queue: JobQueue, pg_url: str, start_worker, tmp_path
):
    # worker a: 10 steps of 0.6 s; named sessions so we can see its transactions
    first = start_worker(
        "a",
        REELFORGE_FAKE_STEP_SECONDS="0.6",
        REELFORGE_DATABASE_URL=f"{pg_url}&application_name=scale-a",
    ).wait_ready()
    job = queue.submit(NewJob(slug=V6, owner="admin", params=small_params(seed=11)))
    # stop it in its last engine step: past its last cancel check, so when it wakes up it
    # encodes and stores attempt 1's output, and only then learns that it lost the job
    wait_for(
        lambda: (row(queue, job.id).stage, row(queue, job.id).step) == ("denoising", 10), 20,
        "the last step",
        interval=0.01,
    )  # fmt: skip
    assert pid_of(row(queue, job.id).worker_id) == first.pid
    _stop_between_transactions(first, queue, "scale-a")
    stopped_at = time.time()

    second = start_worker("b", REELFORGE_FAKE_STEP_SECONDS="0").wait_ready()
    done = wait_for(
        lambda: (found := row(queue, job.id)).terminal and found, 30, "the second worker"
    )
    assert time.time() - stopped_at >= LEASE_SECONDS - 0.5
    assert done.status is Status.COMPLETED, done.error
    assert done.attempt == 2
    assert pid_of(done.worker_id) == second.pid
    assert done.output_key == f"outputs/{job.id}/2.mp4"

    first.signal(signal.SIGCONT)
    wait_for(lambda: "result dropped" in first.log(), 20, "the late worker to give up its result")
    assert row(queue, job.id) == done, "the late finish changed the row"
    # its attempt-1 file was written and then deleted again; attempt 2's file stays
    assert _outputs(tmp_path) == {f"outputs/{job.id}/2.mp4"}
    seed = job.params["seed"]
    assert read_runs(tmp_path / "runs.log") == [(first.pid, seed), (second.pid, seed)]
    assert first.process is not None and first.process.poll() is None, "late worker died"


def _migrate_at_once(url: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    engine = connect(url)
    try:
        warm = connect("sqlite://")  # load alembic and the scripts first, so that the
        migrate(warm)  # children really run the PostgreSQL DDL at the same moment
        warm.dispose()
        with engine.connect():
            pass
        barrier.wait(30)
        migrate(engine)
        results.put("ok")
    except Exception as exc:  # reported to the parent
        results.put(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()


def test_processes_migrating_a_fresh_database_at_once_all_succeed(fresh_schema_url):
    """Workers (and API replicas) started together on a new database all run the
    migrations at start; every one of them must come up."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    children = [
        context.Process(target=_migrate_at_once, args=(fresh_schema_url, barrier, results))
        for _ in range(4)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(30)
    failures = [outcome for outcome in outcomes if outcome != "ok"]
    assert not failures, f"{len(failures)} of 4 concurrent migrations failed: {failures[0]}"
