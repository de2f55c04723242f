"""The webhook outbox: an event to deliver is a row written in the very transaction that
made the change it reports (claim: `start`; progress: `progress`; the end, COMPLETED or
FAILED: `completed`), so no committed change misses its webhook and no rolled-back one
sends one. Delivery, retries and signatures: `reelforge.webhooks.delivery`.

A delivery keeps the job's state at the time of the event (`snapshot`); the body sent is
rendered from it (or, for `completed`, from the finished job) at the first attempt and
then fixed, so that every retry sends the same bytes under the same `webhook-id`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Connection, insert

from reelforge.jobs.record import Job
from reelforge.jobs.schema import webhook_deliveries

EVENTS = ("start", "progress", "completed")
DEFAULT_EVENTS = ("completed",)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
KEEP_SECONDS = 24 * 3600.0  # a delivery and its attempts are kept this long, then deleted


def snapshot(job: Job) -> dict[str, Any]:
    """What a `start` or `progress` body reports: the job's state at that moment."""
    return {
        "status": job.status.value,
        "progress": job.progress,
        "stage": job.stage,
        "step": job.step,
        "steps": job.steps,
        "attempt": job.attempt,
        "error": job.error,
        "base_url": job.base_url,  # its links, even once the job's row is gone
    }


def enqueue(conn: Connection, job: Job, event: str) -> None:
    """Add `event` of `job` to the outbox, if the job asked for that event."""
    if not job.webhook or event not in (job.webhook_events or ()):
        return
    now = time.time()
    conn.execute(
        insert(webhook_deliveries).values(
            id=f"msg_{uuid.uuid4().hex}",
            job_id=job.id,
            owner=job.owner,
            url=job.webhook,
            event=event,
            snapshot=snapshot(job),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            expires_at=now + KEEP_SECONDS,
        )
    )
