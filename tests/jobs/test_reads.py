"""The status route's reads (jobs/reads.py): the queue's rows exactly, without its lock."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import sqlite3
import threading

from reelforge.jobs import NewJob, Status
from reelforge.jobs.reads import Reads
from reelforge.jobs.signals import database_of


def new_job(seed: int) -> NewJob:
    params = {"prompt": "a lighthouse", "duration": 5, "quality": "540p", "seed": seed}
    return NewJob(slug="pixverse-v6", owner="acct", params=params)


def test_every_state_reads_exactly_as_the_queue_reads_it(make_queue):
    queue = make_queue()
    reads = Reads(queue)
    try:
        done, running, failed, queued = (queue.submit(new_job(seed)) for seed in range(4))
        claims = [queue.claim("w1") for _ in range(3)]  # oldest first: done, running, failed
        assert [claim.id if claim else None for claim in claims] == [done.id, running.id, failed.id]
        first, second, third = claims
        assert first and second and third
        queue.complete(
            first,
            output_key=f"outputs/{done.id}/1.mp4",
            video={"width": 960, "height": 540, "has_audio": True},
            inference_time=1.5,
            cost=5.0,
            measured={"denoising": 1.0, "total": 2.0},
        )
        queue.report_progress(second, 0.4, "denoising 3/8", step=3, steps=8, step_seconds=0.5)
        queue.cancel(running.id)  # a flag, a boolean column
        queue.fail(third, "bad input")
        for job in (done, running, failed, queued):
            assert reads.job(job.id) == queue.get(job.id)
        statuses = {job.id: reads.job(job.id) for job in (done, running, failed, queued)}
        assert [read.status if read else None for read in statuses.values()] == [
            Status.COMPLETED, Status.PROCESSING, Status.FAILED, Status.QUEUED
        ]  # fmt: skip
        finished = statuses[done.id]
        assert finished is not None
        assert finished.video == {"width": 960, "height": 540, "has_audio": True}  # JSON
        assert finished.timings is not None and finished.timings["total"] == 2.0
        flagged = statuses[running.id]
        assert flagged is not None and flagged.cancel_requested is True
        assert reads.queue_position(queued) == queue.queue_position(queued) == 0
        assert reads.job("no-such-job") is None
    finally:
        reads.close()


def test_an_expired_job_is_gone_for_the_reads_too(make_queue, clock):
    queue = make_queue(retention=3600)
    reads = Reads(queue)
    try:
        job = queue.submit(new_job(1))
        assert reads.job(job.id) is not None
        clock.advance(3600.1)
        assert reads.job(job.id) is None and queue.get(job.id) is None
    finally:
        reads.close()


def test_a_read_does_not_wait_for_a_writer_and_sees_only_what_was_committed(tmp_path):
    from reelforge.jobs import JobQueue, connect, migrate

    engine = connect(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    queue = JobQueue(engine, retention=3600, lease=30, max_attempts=3)
    reads = Reads(queue)
    assert reads.inline
    path = database_of(engine)
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        job = queue.submit(new_job(1))
        before = reads.job(job.id)
        # another process holds SQLite's write lock mid-transaction, as a worker does
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE jobs SET stage = 'uncommitted' WHERE id = ?", (job.id,))
        during = reads.job(job.id)  # would raise "database is locked" if it had to wait
        assert during == before and during is not None and during.stage != "uncommitted"
        writer.execute("COMMIT")
        after = reads.job(job.id)
        assert after is not None and after.stage == "uncommitted"
        assert before is not None and dataclasses.replace(after, stage=before.stage) == before
    finally:
        writer.close()
        reads.close()
        engine.dispose()


def test_postgresql_reads_are_the_queues_own(make_queue, database_url):
    reads = Reads(make_queue())
    assert reads.inline is database_url.startswith("sqlite")


def test_many_jobs_read_as_the_queue_reads_them(make_queue):
    queue = make_queue()
    reads = Reads(queue)
    try:
        submitted = [queue.submit(new_job(seed)) for seed in range(5)]
        claimed = queue.claim("w1")
        assert claimed is not None
        queue.report_progress(claimed, 0.5, "denoising 4/8", step=4, steps=8)
        for count in (1, 2, 5):  # each count its own compiled statement
            ids = [job.id for job in submitted[:count]] + ["no-such-job"]
            by_id = {job.id: job for job in reads.jobs(ids)}
            assert sorted(by_id) == sorted(job.id for job in submitted[:count])
            assert by_id == {job.id: job for job in queue.get_many(ids)}
        assert reads.jobs([]) == []
    finally:
        reads.close()


def test_live_workers_read_as_the_fleet_reads_them(make_queue):
    from reelforge.jobs import fleet

    queue = make_queue()
    reads = Reads(queue)
    try:
        for index, slugs in enumerate((["pixverse-v6"], ["pixverse-v6", "pixverse-5-video"])):
            info = fleet.WorkerInfo(
                id=f"host:{index}:x", hostname="host", pid=index, slugs=slugs,
                engine="fake", device="cpu", memory_bytes=None,
            )  # fmt: skip
            fleet.register(queue.db, info)
        assert reads.serving(60) == fleet.serving(queue.db, 60)
        assert reads.serving(60) == {"pixverse-v6": 2, "pixverse-5-video": 1}
    finally:
        reads.close()


def test_a_read_again_before_any_write_is_answered_from_memory(make_queue):
    """Between two writes a job (and a QUEUED job's place) is read once: the next reads
    ask only SQLite's data_version; any commit, of any connection, reads it again."""
    queue = make_queue()
    reads = Reads(queue)
    try:
        job = queue.submit(new_job(1))
        first = reads.job(job.id)
        if not reads.inline:  # PostgreSQL: every read is the queue's, nothing kept
            assert first == queue.get(job.id)
            return
        assert first is not None and reads.queue_position(first) == 0
        statements: list[str] = []
        reads._conn().set_trace_callback(statements.append)
        assert reads.job(job.id) == first and reads.queue_position(first) == 0
        assert statements == ["PRAGMA data_version"] * 2
        claimed = queue.claim("w1")  # a write by another connection
        assert claimed is not None
        statements.clear()
        again = reads.job(job.id)
        assert again is not None and again.status is Status.PROCESSING
        assert statements[0] == "PRAGMA data_version" and statements[1].startswith("SELECT")
        assert again == queue.get(job.id)
    finally:
        reads.close()


def _open_files(prefix: str) -> int:
    """This process's descriptors open on files whose path starts with `prefix` (other
    tests of this process open and close their own meanwhile)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed since the listing
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(prefix)
    return count


def test_a_threads_connection_closes_when_the_thread_ends(tmp_path):
    """Issue 21: the API's thread pool retires idle threads and starts new ones for the
    next burst of watchers; each thread's connection must go with it (a list of them kept
    one descriptor per thread ever started: 25 -> 480 over six bursts)."""
    from reelforge.jobs import JobQueue, connect, migrate

    database = str(tmp_path / "reelforge.db")  # and its -wal and -shm files
    engine = connect(f"sqlite:///{database}")
    migrate(engine)
    queue = JobQueue(engine, retention=3600, lease=30, max_attempts=3)
    reads = Reads(queue)
    job = queue.submit(new_job(1))

    def burst() -> None:
        found: list[object] = []
        threads = [
            threading.Thread(target=lambda: found.append(reads.job(job.id))) for _ in range(40)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(found) == 40 and all(read == job for read in found)

    try:
        burst()
        gc.collect()
        after_first = _open_files(database)
        for _ in range(5):
            burst()
        gc.collect()
        # 40 more per burst before the fix. Not exactly as many as after the first:
        # SQLite keeps a closed connection's descriptor open while another connection of
        # this process holds a lock on the file (POSIX locks), for its next open to reuse
        # (https://sqlite.org/src/doc/trunk/src/os_unix.c, unixInodeInfo.pUnused)
        assert _open_files(database) <= after_first + 10, (after_first, _open_files(database))
    finally:
        reads.close()
        engine.dispose()
