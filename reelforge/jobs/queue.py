"""Queue operations on the jobs table: submit, claim, heartbeat, progress, finish, expire.

Every state change is one transaction, so it is atomic in SQLite (BEGIN IMMEDIATE)
and PostgreSQL (FOR UPDATE SKIP LOCKED) alike. A claim bumps `attempt`; every later
write by a worker is fenced on (id, worker_id, attempt, PROCESSING), so a worker that
lost its lease (paused, partitioned) changes nothing. A priced job's credits move in
the same transaction as its state (see billing.py): held at submit, charged on
COMPLETED, released on FAILED (worker failure, attempts exhausted, cancel) or expiry.

Every write that changes what /status shows bumps `version` (the stream's event ids) and
announces the change to watching API processes (changes.py); the events a job's webhook
asked for go into the outbox in the same transaction (outbox.py).

Two ways back to QUEUED that do not count as an attempt: `release` (a worker shutting
down) and `retry_later` (a fault of this machine, such as a full disk or a database
error, not of the request): that one also sets `not_before`, which claims respect.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Float,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)

from reelforge import metrics
from reelforge.jobs import billing, cache, outbox, timings, wakeup
from reelforge.jobs.changes import announce
from reelforge.jobs.db import connect, migrate
from reelforge.jobs.record import Job, NewJob, Status, is_job_id
from reelforge.jobs.schema import jobs
from reelforge.settings import Settings


class JobQueue:
    """The durable queue and record of every request."""

    def __init__(
        self,
        db: Engine,
        *,
        retention: float,
        lease: float,
        max_attempts: int,
        clock: Callable[[], float] = time.time,
    ):
        self.db = db
        self.retention = retention  # seconds a job lives after submit
        self.lease = lease  # seconds a claim holds without a heartbeat
        self.max_attempts = max_attempts  # claims before a job ends FAILED
        # epoch seconds for every lease, expiry and timestamp the queue writes or compares:
        # a seam, so that tests move time on instead of sleeping through leases
        self.clock = clock

    # --- API side ------------------------------------------------------------------------

    def submit(self, new: NewJob) -> Job:
        """Record a new QUEUED job; once this returns, the job survives any crash.
        With a price, its credits are held on its owner first (InsufficientCredits: no job)."""
        with self.db.begin() as conn:
            return self.submit_in(conn, new)

    def submit_in(self, conn: Connection, new: NewJob, *, job_id: str | None = None) -> Job:
        """`submit` inside the caller's transaction (idempotency records share it)."""
        if new.fingerprint and new.cache is not None:
            source = cache.find(conn, new, new.cache, now=self.clock())
            if source is not None:
                return self._serve_from(conn, source, new, job_id or str(uuid.uuid4()))
        if new.price_units is not None:
            billing.hold(conn, new.owner, new.price_units)
        now = self.clock()
        values = {
            "id": job_id or str(uuid.uuid4()),
            "slug": new.slug,
            "owner": new.owner,
            "params": new.params,
            "status": Status.QUEUED.value,
            "created_at": now,
            "expires_at": now + self.retention,
            "attempt": 0,
            "progress": 0.0,
            "cancel_requested": False,
            "price_units": new.price_units,
            "version": 0,
            "base_url": new.base_url,
            "webhook": new.webhook,
            "webhook_events": list(new.webhook_events) if new.webhook else None,
            "replay": new.replay,
            "fingerprint": new.fingerprint,
        }
        row = conn.execute(jobs.insert().values(**values).returning(*jobs.c)).one()
        wakeup.notify(conn, new.slug)  # idle workers, once committed (see wakeup.py)
        return Job.from_row(row)

    def _serve_from(self, conn: Connection, source: Any, new: NewJob, job_id: str) -> Job:
        """A cache hit: `new` COMPLETED at once with `source`'s file, charged the hit's
        price, its webhook told; no worker is involved."""
        values = cache.hit_values(
            source, new, job_id=job_id, retention=self.retention, now=self.clock()
        )
        if values["price_units"]:
            billing.hold(conn, new.owner, values["price_units"])
            billing.charge(conn, new.owner, values["price_units"], job_id)
        row = conn.execute(jobs.insert().values(**values).returning(*jobs.c)).one()
        served = Job.from_row(row)
        outbox.enqueue(conn, served, "completed")
        announce(conn, served.id)
        return served

    def get(self, job_id: str) -> Job | None:
        """The job, or None when it never existed or has expired (or `job_id` cannot be
        an id: `is_job_id`)."""
        if not is_job_id(job_id):
            return None
        with self.db.begin() as conn:
            row = conn.execute(
                select(jobs).where(jobs.c.id == job_id, jobs.c.expires_at > self.clock())
            ).one_or_none()
        return Job.from_row(row) if row else None

    def get_many(self, job_ids: list[str]) -> list[Job]:
        """The jobs of `job_ids` that exist and have not expired, in no order."""
        job_ids = [job_id for job_id in job_ids if is_job_id(job_id)]
        if not job_ids:
            return []
        with self.db.connect() as conn:
            rows = conn.execute(
                select(jobs).where(jobs.c.id.in_(job_ids), jobs.c.expires_at > self.clock())
            ).all()
        return [Job.from_row(row) for row in rows]

    def queue_position(self, job: Job) -> int:
        """How many QUEUED jobs will be claimed before this one (0 = next)."""
        with self.db.begin() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(jobs)
                    .where(jobs.c.status == Status.QUEUED.value, jobs.c.created_at < job.created_at)
                ).scalar_one()
            )

    def cancel(self, job_id: str) -> Job | None:
        """Ask a job to stop: a QUEUED job fails at once, a PROCESSING one at its
        worker's next step. Terminal jobs are left as they are. None when there is no
        such job."""
        if not is_job_id(job_id):
            return None
        now = self.clock()
        with self.db.begin() as conn:
            failed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == Status.QUEUED.value)
                .values(
                    status=Status.FAILED.value,
                    error="cancelled by request",
                    finished_at=now,
                    stage="failed",
                    version=jobs.c.version + 1,
                )
                .returning(*jobs.c)
            ).all()
            billing.release(conn, failed)
            for row in failed:
                outbox.enqueue(conn, Job.from_row(row), "completed")
                announce(conn, job_id)
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == Status.PROCESSING.value)
                .values(cancel_requested=True)
            )
        for row in failed:  # counted once committed
            _count_end(Job.from_row(row))
        return self.get(job_id)

    def expire(self) -> list[Job]:
        """Delete every job past its retention; returns them so their files can go too.
        A job that never finished gives its held credits back. A file that requests served
        from the cache share goes with the last of them: while another row points at it,
        the expired job is returned without its `output_key` (and so is every expired job
        but one that shared a file)."""
        now = self.clock()
        with self.db.begin() as conn:
            rows = conn.execute(
                delete(jobs).where(jobs.c.expires_at <= now).returning(*jobs.c)
            ).all()
            expired = [Job.from_row(row) for row in rows]
            billing.release(conn, [job for job in expired if not job.terminal])
            keys = {job.output_key for job in expired if job.output_key}
            if not keys:
                return expired
            shared = set(
                conn.execute(select(jobs.c.output_key).where(jobs.c.output_key.in_(keys)))
                .scalars()
                .all()
            )
            kept: list[Job] = []
            for job in expired:
                if job.output_key in shared:
                    job = dataclasses.replace(job, output_key=None)
                elif job.output_key is not None:
                    shared.add(job.output_key)  # deleted once, with this one
                kept.append(job)
            return kept

    # --- worker side ---------------------------------------------------------------------

    def claim(
        self, worker_id: str, slugs: Iterable[str] | None = None, busy: Iterable[str] = ()
    ) -> Job | None:
        """Take the oldest runnable job: QUEUED, or PROCESSING with an expired lease
        (its worker died). Jobs that used up their attempts end FAILED instead. `busy`:
        jobs the claiming worker runs already (a lease that lapsed under its own hands, a
        stuck heartbeat: another worker may take it over, this one must not again)."""
        now = self.clock()
        lease_lost = and_(jobs.c.status == Status.PROCESSING.value, jobs.c.lease_until < now)
        with self.db.begin() as conn:
            exhausted = conn.execute(
                update(jobs)
                .where(lease_lost, jobs.c.attempt >= self.max_attempts)
                .values(
                    status=Status.FAILED.value,
                    finished_at=now,
                    error=f"the worker running this job stopped responding "
                    f"{self.max_attempts} times; giving up",
                    stage="failed",
                    version=jobs.c.version + 1,
                )
                .returning(*jobs.c)
            ).all()
            billing.release(conn, exhausted)
            for gone in exhausted:
                outbox.enqueue(conn, Job.from_row(gone), "completed")
                announce(conn, gone.id)
            # two indexed look-ups, not one OR (which scans and sorts the whole table):
            # jobs whose worker died first (they are the older ones), then QUEUED ones
            # that are not waiting out a fault's back-off
            queued = and_(
                jobs.c.status == Status.QUEUED.value,
                or_(jobs.c.not_before.is_(None), jobs.c.not_before <= now),
            )
            row = None
            for runnable in (lease_lost, queued):
                candidate = (
                    select(jobs.c.id)
                    .where(runnable, jobs.c.expires_at > now)
                    .order_by(jobs.c.created_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if slugs is not None:
                    candidate = candidate.where(jobs.c.slug.in_(list(slugs)))
                if busy := list(busy):
                    candidate = candidate.where(jobs.c.id.not_in(busy))
                row = conn.execute(
                    update(jobs)
                    .where(jobs.c.id == candidate.scalar_subquery())
                    .values(
                        status=Status.PROCESSING.value,
                        worker_id=worker_id,
                        attempt=jobs.c.attempt + 1,
                        lease_until=now + self.lease,
                        started_at=func.coalesce(jobs.c.started_at, now),
                        progress=0.0,
                        stage="starting",
                        step=None,
                        steps=None,
                        step_seconds=None,
                        version=jobs.c.version + 1,
                    )
                    .returning(*jobs.c)
                ).one_or_none()
                if row is not None:
                    break
            claimed = None if row is None else Job.from_row(row)
            if claimed is not None:
                outbox.enqueue(conn, claimed, "start")
                announce(conn, claimed.id)  # every queue position behind it moved, too
        for gone in exhausted:  # counted once committed
            _count_end(Job.from_row(gone))
        return claimed

    def heartbeat(self, job: Job) -> tuple[bool, bool]:
        """Renew the claim. Returns (still ours, cancel requested)."""
        with self.db.begin() as conn:
            row = conn.execute(
                update(jobs)
                .where(_held_by(job))
                .values(lease_until=self.clock() + self.lease)
                .returning(jobs.c.cancel_requested)
            ).one_or_none()
        return (row is not None, bool(row and row.cancel_requested))

    def report_progress(
        self,
        job: Job,
        progress: float,
        stage: str,
        *,
        step: int | None = None,
        steps: int | None = None,
        step_seconds: float | None = None,
    ) -> tuple[bool, bool]:
        """Record progress (0..1), stage and denoising step. Returns (still ours, cancel
        requested), like `heartbeat`, so a cancel stops the job at its next recorded step.
        A job that asked for `progress` webhooks gets one per recorded change."""
        values: dict[str, Any] = {
            "progress": max(0.0, min(1.0, progress)),
            "stage": stage[:64],
            "step": step,
            "steps": steps,
            "step_seconds": step_seconds,
        }
        with self.db.begin() as conn:
            row = conn.execute(
                update(jobs)
                .where(_held_by(job))
                .values(version=jobs.c.version + 1, **values)
                .returning(jobs.c.cancel_requested)
            ).one_or_none()
            if row is None:
                return (False, False)
            outbox.enqueue(conn, dataclasses.replace(job, **values), "progress")
            announce(conn, job.id)
        return (True, bool(row.cancel_requested))

    def complete(
        self,
        job: Job,
        *,
        output_key: str,
        video: dict[str, Any],
        inference_time: float,
        cost: float,
        measured: Mapping[str, float] | None = None,
        manifest: Mapping[str, Any] | None = None,
        output_sha256: str | None = None,
    ) -> bool:
        """COMPLETED with its output; False (and nothing changed) if we lost the claim.
        A priced job is charged the price held at submit, whatever `cost` says (the
        worker's default price is only for jobs submitted without one). `measured`: its
        seconds per stage, kept on the job and added to the fleet's means (timings.py).
        `manifest`: what made it (worker/manifests.py), its checkpoint hash kept apart
        for the result cache; `output_sha256`: the mp4's, for replays."""
        held = cast(jobs.c.price_units, Float) / billing.UNITS_PER_CREDIT
        return self._finish(
            job,
            status=Status.COMPLETED.value,
            output_key=output_key,
            video=video,
            inference_time=inference_time,
            cost=func.coalesce(held, cost),
            progress=1.0,
            stage="done",
            step=None,
            timings=dict(measured) if measured else None,
            manifest=dict(manifest) if manifest else None,
            checkpoint=(manifest or {}).get("checkpoint", {}).get("sha256"),
            output_sha256=output_sha256,
        )

    def fail(self, job: Job, error: str) -> bool:
        """FAILED with a message for the user; False if we lost the claim."""
        return self._finish(job, status=Status.FAILED.value, error=error[:2000], stage="failed")

    def release(self, job: Job) -> bool:
        """Give a claimed job back to the queue (a worker shutting down cleanly), without
        counting the interrupted attempt against the job."""
        return self._requeue(job, stage=None)

    def retry_later(self, job: Job, reason: str, delay: float) -> bool:
        """Give a claimed job back after a fault that is not the request's (a full disk, a
        database error): QUEUED again, claimable after `delay` seconds, the attempt not
        counted, `fault_retries` one more. `reason` is its stage meanwhile ("retrying
        after a storage error"). False if we lost the claim."""
        return self._requeue(
            job,
            stage=reason[:64],
            not_before=self.clock() + delay,
            fault_retries=jobs.c.fault_retries + 1,
        )

    def _requeue(self, job: Job, **values: Any) -> bool:
        """The fenced write that makes a claimed job QUEUED again, its attempt uncounted."""
        with self.db.begin() as conn:
            result = conn.execute(
                update(jobs)
                .where(_held_by(job))
                .values(
                    status=Status.QUEUED.value,
                    worker_id=None,
                    lease_until=None,
                    attempt=jobs.c.attempt - 1,
                    progress=0.0,
                    step=None,
                    steps=None,
                    step_seconds=None,
                    version=jobs.c.version + 1,
                    **values,
                )
            )
            if result.rowcount == 1:
                announce(conn, job.id)
        return result.rowcount == 1

    def _finish(self, job: Job, **values: Any) -> bool:
        """The fenced terminal write, and the job's credits settled in the same transaction."""
        with self.db.begin() as conn:
            row = conn.execute(
                update(jobs)
                .where(_held_by(job))
                .values(
                    finished_at=self.clock(),
                    lease_until=None,
                    version=jobs.c.version + 1,
                    **values,
                )
                .returning(*jobs.c)
            ).one_or_none()
            if row is None:
                return False
            if row.status == Status.COMPLETED.value and row.price_units is not None:
                billing.charge(conn, row.owner, row.price_units, row.id)
            elif row.status != Status.COMPLETED.value:
                billing.release(conn, [row])
            finished = Job.from_row(row)
            if finished.status is Status.COMPLETED and finished.timings:
                size = timings.size_of(finished.params)
                timings.record(conn, finished.slug, size, finished.timings)
            outbox.enqueue(conn, finished, "completed")
            announce(conn, finished.id)
        _count_end(finished)  # once committed
        return True


def _count_end(job: Job) -> None:
    """Every way a job ends passes here (a finish, a cancel, attempts run out): the
    metrics count it once, with its stage times when it COMPLETED."""
    measured = job.timings if job.status is Status.COMPLETED else None
    metrics.job_finished(job.slug, job.status.value, timings=measured, **metrics.waits(job))


def _held_by(job: Job) -> ColumnElement[bool]:
    """The fence: this job, still PROCESSING under this very claim."""
    return and_(
        jobs.c.id == job.id,
        jobs.c.status == Status.PROCESSING.value,
        jobs.c.worker_id == job.worker_id,
        jobs.c.attempt == job.attempt,
    )


def open_queue(settings: Settings) -> JobQueue:
    """The queue on the configured database, its schema brought up to date."""
    # a transaction left idle longer than a third of the lease is cut by PostgreSQL
    db = connect(settings.resolved_database_url, transaction_timeout=settings.lease_seconds / 3)
    migrate(db)
    return JobQueue(
        db,
        retention=settings.retention_seconds,
        lease=settings.lease_seconds,
        max_attempts=settings.max_attempts,
    )
