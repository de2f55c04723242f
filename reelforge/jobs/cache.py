"""The result cache: a submit with an explicit seed completes at once from the file of a
COMPLETED job with the same model, normalised parameters, seed and checkpoint identity
(docs/reproducibility.md).

    fingerprint(slug, params)        at submit, in the API: None when it may not be cached
    find(conn, new, lookup, now=)    in the submit's transaction: the job to serve it from
    hit_values(...)                  the new COMPLETED row, pointing at that job's file

A cached output is shared, not copied: several rows point at one `output_key`. Its file
lives as long as the longest-living of them (`JobQueue.expire` deletes a file only with
its last row), so no file outlives its last request and no request outlives its file.
The source row is read FOR SHARE (PostgreSQL; SQLite serialises every transaction): a
concurrent expiry that deletes it either waits for the hit to commit, and then sees the
new row, or deletes it first, and the submit is then an ordinary miss.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from reelforge.jobs.billing import to_credits
from reelforge.jobs.record import NewJob, Status
from reelforge.jobs.schema import jobs


@dataclass(frozen=True)
class Lookup:
    """Where a submit may be served from."""

    checkpoint: str  # the content hash of the checkpoint the model's workers run
    across_accounts: bool  # another account's result may serve it (an operator's choice)
    price_units: int  # what a hit costs, in billing units


def fingerprint(slug: str, params: dict[str, Any]) -> str:
    """sha256 of the model and its normalised parameters (the seed included)."""
    canonical = json.dumps({"slug": slug, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def find(conn: Connection, new: NewJob, lookup: Lookup, *, now: float) -> Any:
    """The row of the COMPLETED, unexpired job `new` may be served from, or None. The
    longest-living one, so the shared file's life is not cut short by its choice."""
    query = (
        select(jobs)
        .where(
            jobs.c.fingerprint == new.fingerprint,
            jobs.c.checkpoint == lookup.checkpoint,
            jobs.c.status == Status.COMPLETED.value,
            jobs.c.output_key.is_not(None),
            jobs.c.expires_at > now,
        )
        .order_by(jobs.c.expires_at.desc())
        .limit(1)
        .with_for_update(read=True)  # an expiry deleting it waits for this transaction
    )
    if not lookup.across_accounts:
        query = query.where(jobs.c.owner == new.owner)
    return conn.execute(query).one_or_none()


def hit_values(
    source: Any, new: NewJob, *, job_id: str, retention: float, now: float
) -> dict[str, Any]:
    """The row of a request served from `source`: COMPLETED at once, its file shared."""
    units = new.cache.price_units if new.cache else 0
    return {
        "id": job_id,
        "slug": new.slug,
        "owner": new.owner,
        "params": new.params,
        "status": Status.COMPLETED.value,
        "created_at": now,
        "expires_at": now + retention,
        "started_at": now,
        "finished_at": now,
        "attempt": 0,  # never claimed: no worker ran it
        "progress": 1.0,
        "stage": "done",
        "cancel_requested": False,
        "output_key": source.output_key,
        "video": source.video,
        "inference_time": 0.0,
        "cost": to_credits(units),
        "price_units": units or None,
        "version": 1,
        "base_url": new.base_url,
        "webhook": new.webhook,
        "webhook_events": list(new.webhook_events) if new.webhook else None,
        "manifest": source.manifest,
        "checkpoint": source.checkpoint,
        "output_sha256": source.output_sha256,
        "fingerprint": new.fingerprint,
        # the account's own request it came from; "" for another account's (never named)
        "cached_from": (source.cached_from or source.id) if source.owner == new.owner else "",
    }
