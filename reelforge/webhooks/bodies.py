"""What a webhook says: the JSON body of one delivery, rendered once (at its first
attempt) and then kept, so every retry sends the same bytes.

  completed          the /v2/requests/{id} body of the finished job (output URL and
                     metrics when COMPLETED, error when FAILED)
  start, progress    the /status body of the job as it was when the event happened (the
                     delivery's snapshot), links from the base URL the submitter used

each with a top-level "event": "<name>".
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from typing import Any

from sqlalchemy import Engine, select

from reelforge import eta as eta_model
from reelforge import views
from reelforge.accounts import credits
from reelforge.jobs import Job, Status, timings
from reelforge.jobs.schema import jobs
from reelforge.jobs.timings import StatsCache
from reelforge.settings import Settings
from reelforge.storage import Storage, UrlSigner


class Unrenderable(Exception):
    """The body cannot be made (the finished job is gone): the delivery is given up."""


class Bodies:
    """Renders delivery bodies from the jobs table; built once per sender."""

    def __init__(self, settings: Settings, db: Engine, storage: Storage, signer: UrlSigner):
        self.settings = settings
        self.db = db
        self.storage = storage
        self.signer = signer
        self.timings = StatsCache(db)
        # links of a job whose row is gone (its own base URL went with it)
        self.fallback_base = settings.public_url or f"http://{settings.host}:{settings.port}"

    def render(self, delivery: Any) -> str:
        """The body of `delivery` (a webhook_deliveries row), as sent: compact JSON."""
        job = self._job(delivery.job_id)
        if delivery.event == "completed":
            body = self._result(delivery, job)
        else:
            body = self._status(delivery, job)
        body["event"] = delivery.event
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def _job(self, job_id: str) -> Job | None:
        with self.db.begin() as conn:
            row = conn.execute(
                select(jobs).where(jobs.c.id == job_id, jobs.c.expires_at > time.time())
            ).one_or_none()
        return Job.from_row(row) if row else None

    def _result(self, delivery: Any, job: Job | None) -> dict[str, Any]:
        if job is None or not job.terminal:
            raise Unrenderable(
                f"request {delivery.job_id} expired before its completed webhook was sent"
            )
        base_url = job.base_url or self.fallback_base
        balance = credits.balance(self.db, job.owner)
        return views.result(
            job,
            views.Links(base_url, job.id),
            files=views.file_urls(self.storage, self.signer, job, base_url),
            remaining_credits=None if balance is None else balance.available,
        )

    def _status(self, delivery: Any, job: Job | None) -> dict[str, Any]:
        snap = dict(delivery.snapshot)
        seen: dict[str, Any] = dict(
            status=Status(snap["status"]),
            progress=float(snap.get("progress") or 0.0),
            stage=snap.get("stage"),
            step=snap.get("step"),
            steps=snap.get("steps"),
            attempt=int(snap.get("attempt") or 0),
            error=snap.get("error"),
        )
        if snap.get("base_url"):
            seen["base_url"] = snap["base_url"]
        eta = None
        if job is not None:
            then = dataclasses.replace(job, **seen)
            stats = self.timings.get(job.slug, timings.size_of(job.params))
            run = functools.partial(eta_model.job_run_seconds, self.settings, stats, job.params)
            eta = timings.eta_seconds(then, stats, queue_position=None, workers=1, run=run)
        else:  # expired meanwhile: the snapshot alone says what /status said then
            then = _bare_job(delivery, seen)
        links = views.Links(then.base_url or self.fallback_base, then.id)
        return views.status(then, links, queue_position=None, eta_seconds=eta)


def _bare_job(delivery: Any, seen: dict[str, Any]) -> Job:
    """A Job holding only what the snapshot knows (what views.status reads)."""
    return Job(
        id=delivery.job_id,
        slug="",
        owner=delivery.owner,
        params={},
        created_at=delivery.created_at,
        expires_at=delivery.expires_at,
        started_at=None,
        finished_at=None,
        worker_id=None,
        lease_until=None,
        cancel_requested=False,
        output_key=None,
        video=None,
        inference_time=None,
        cost=None,
        **seen,
    )
