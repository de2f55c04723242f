"""A job as the rest of the code sees it: a frozen snapshot of one row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    QUEUED = "QUEUED"  # accepted, waiting for a worker
    PROCESSING = "PROCESSING"  # claimed by a worker
    COMPLETED = "COMPLETED"  # output stored
    FAILED = "FAILED"  # error set (cancelled jobs end here too: the SDK knows no other end)


TERMINAL = (Status.COMPLETED, Status.FAILED)


def is_job_id(text: str) -> bool:
    """Whether `text` can name a job: every job's id is a UUID in its canonical form
    (`str(uuid.uuid4())`). Lookups ask this before any query, so that anything else (a
    NUL, which PostgreSQL refuses with an error; 5,000 characters) is as unknown as a
    missing job, on both databases, without a round trip."""
    if len(text) != 36:
        return False
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


@dataclass(frozen=True)
class NewJob:
    """A validated request on its way into the queue: what `JobQueue.submit` records."""

    slug: str  # endpoint
    owner: str  # account that submits it
    params: dict[str, Any]  # validated parameters, seed resolved
    price_units: int | None = None  # credits to hold, in billing units; None = not billed
    base_url: str | None = None  # where the submitter reached us: links in its webhooks
    webhook: str | None = None  # URL to notify of this job's events
    webhook_events: tuple[str, ...] = ()  # which: start, progress, completed
    replay: dict[str, Any] | None = None  # a replay: its original's id, hash and runtime
    fingerprint: str | None = None  # cache.fingerprint: may be served from / offered to it
    cache: Any = None  # a cache.Lookup: where it may be served from now; None: it runs


@dataclass(frozen=True)
class Job:
    id: str  # request_id
    slug: str  # endpoint
    owner: str  # account that submitted it
    params: dict[str, Any]  # validated parameters
    status: Status
    created_at: float  # epoch seconds
    expires_at: float  # after this the job and its files are gone
    started_at: float | None  # first claim
    finished_at: float | None  # terminal state reached
    attempt: int  # claims so far; fences the current holder
    worker_id: str | None  # current holder
    lease_until: float | None  # holder must renew by then
    progress: float  # 0..1
    stage: str | None  # e.g. "denoising 3/8"
    cancel_requested: bool
    error: str | None  # FAILED only
    output_key: str | None  # COMPLETED only
    video: dict[str, Any] | None  # COMPLETED only: facts of the mp4
    inference_time: float | None  # seconds the successful attempt ran
    cost: float | None  # credits charged
    price_units: int | None = None  # credits held at submit, in billing units; None = unbilled
    not_before: float | None = None  # put back after a fault: not claimed before this
    fault_retries: int = 0  # put-backs after disk or database faults (not in `attempt`)
    version: int = 0  # bumped by every write /status would show: the stream's event ids
    step: int | None = None  # denoising step done, while denoising
    steps: int | None = None  # denoising steps of this attempt
    step_seconds: float | None = None  # measured seconds per denoising step (this attempt)
    timings: dict[str, float] | None = None  # COMPLETED: seconds per stage
    base_url: str | None = None  # where the submitter reached us
    webhook: str | None = None  # URL notified of this job's events
    webhook_events: list[str] | None = None  # start / progress / completed
    manifest: dict[str, Any] | None = None  # COMPLETED: what made it (worker/manifests.py)
    checkpoint: str | None = None  # COMPLETED: the checkpoint's content hash
    output_sha256: str | None = None  # COMPLETED: sha256 of the mp4
    replay: dict[str, Any] | None = None  # a replay: what it is checked against
    fingerprint: str | None = None  # its model and parameters' hash, when cacheable
    # served from the cache: the account's request it came from ("": another account's)
    cached_from: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: Any) -> Job:
        values = dict(row._mapping)
        values["status"] = Status(values["status"])
        return cls(**values)
