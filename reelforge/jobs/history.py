"""An account's history: its unexpired requests, newest first, a page at a time, and the
key of each output's thumbnail (the first frame as a JPEG, stored beside the mp4).

Pages are keyset pages on (created_at, id), which `ix_jobs_owner_created` serves: a page
costs the same however far back it is, and a request submitted meanwhile never shifts
the next page (it comes before the first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, and_, or_, select

from reelforge.errors import BadRequest
from reelforge.jobs.record import Job, is_job_id
from reelforge.jobs.schema import jobs

MAX_PAGE = 100  # requests per page at most


@dataclass(frozen=True)
class Page:
    jobs: list[Job]  # newest first
    more: bool  # older requests follow the last one


def thumbnail_key(output_key: str) -> str:
    """Where the thumbnail of the mp4 at `output_key` is stored: `outputs/{id}/{attempt}.jpg`
    beside `outputs/{id}/{attempt}.mp4`. The one rule the worker (writing it), the reaper
    (deleting it) and the answers (signing its URL) share."""
    stem, dot, _ = output_key.rpartition(".")
    return f"{stem if dot else output_key}.jpg"


def listing(db: Engine, owner: str, *, limit: int, after: str | None = None) -> Page:
    """`owner`'s unexpired requests, newest first: at most `limit` (1..MAX_PAGE), those
    older than request `after` when given. BadRequest naming `after` when it is not one of
    `owner`'s unexpired requests (another account's is exactly as unknown)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit: must be 1..{MAX_PAGE}")
    now = time.time()
    mine = and_(jobs.c.owner == owner, jobs.c.expires_at > now)
    query = select(jobs).where(mine)
    with db.begin() as conn:
        if after is not None:
            last = None
            if is_job_id(after):  # anything else is no request, and may not be queried
                last = conn.execute(
                    select(jobs.c.created_at, jobs.c.id).where(mine, jobs.c.id == after)
                ).one_or_none()
            if last is None:
                raise BadRequest(f"after: no request {after} of this account (unknown or expired)")
            query = query.where(
                or_(
                    jobs.c.created_at < last.created_at,
                    and_(jobs.c.created_at == last.created_at, jobs.c.id < last.id),
                )
            )
        rows = conn.execute(
            query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        ).all()
    return Page([Job.from_row(row) for row in rows[:limit]], more=len(rows) > limit)
