"""Idempotency-Key on submits: one job (and one charge) per API key, key and body.

The record and the job are written in one transaction, so a record always names a job
that was accepted and charged, and a refused submit (406) leaves no record. When two
submits with the same key race, the primary key (scope, key) lets exactly one insert
win; the loser's transaction rolls back whole and it reads the winner's record. Records
live in the database, so a replay works across restarts, for `idempotency_hours`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from reelforge.errors import BadRequest, Conflict
from reelforge.jobs import JobQueue, NewJob
from reelforge.jobs.schema import idempotency_keys as records

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Outcome:
    job_id: str
    replayed: bool  # an earlier submit with the same key made the job


def check_key(key: str) -> str:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def fingerprint(slug: str, body: Any) -> str:
    """The request as submitted (not the validated params: those hold a random seed)."""
    canonical = json.dumps([slug, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit_once(
    queue: JobQueue,
    new: NewJob,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    keep_seconds: float,
) -> Outcome:
    """Submit a job under (scope, key), or return the job an earlier identical submit made.
    The same key with another body is a Conflict (409)."""
    for _ in range(3):  # a lost race is retried once it can see the winner's record
        try:
            return _submit_once(queue, new, scope, key, fingerprint, keep_seconds)
        except IntegrityError:
            continue
    raise Conflict(f"Idempotency-Key {key!r} is being used by a concurrent request; retry")


def _submit_once(
    queue: JobQueue, new: NewJob, scope: str, key: str, print_: str, keep: float
) -> Outcome:
    now = time.time()
    mine = (records.c.scope == scope) & (records.c.key == key)
    with queue.db.begin() as conn:
        conn.execute(delete(records).where(mine, records.c.expires_at <= now))
        earlier = conn.execute(select(records).where(mine)).one_or_none()
        if earlier is not None:
            if earlier.fingerprint != print_:
                raise Conflict(
                    f"Idempotency-Key {key!r} was already used with a different request "
                    f"(request {earlier.job_id}); use a new key for a new request"
                )
            return Outcome(earlier.job_id, replayed=True)
        job_id = str(uuid.uuid4())
        # the record first: a racing twin fails here, before it holds any credits
        conn.execute(
            insert(records).values(
                scope=scope,
                key=key,
                fingerprint=print_,
                job_id=job_id,
                created_at=now,
                expires_at=now + keep,
            )  # fmt: skip
        )
        queue.submit_in(conn, new, job_id=job_id)
    return Outcome(job_id, replayed=False)


def purge(engine: Engine) -> int:
    """Forget records past their time; returns how many went."""
    with engine.begin() as conn:
        return conn.execute(delete(records).where(records.c.expires_at <= time.time())).rowcount
