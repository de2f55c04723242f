"""The OpenAI list and delete on the jobs table: an account's unexpired jobs in cursor
pages (`after` an id, `limit`, `order` by creation time, either way), and deleting one.

Pages are keyset pages on (created_at, id), as in `jobs/history.py`, here in both orders.
Deleting is expiring now: the job is cancelled if it has not ended (its held credits go
back), its row's `expires_at` becomes the present, and the expiry sweep runs at once, so
the row and its files go the way every expired request goes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update

from reelforge.errors import BadRequest
from reelforge.jobs import Job, JobQueue
from reelforge.jobs.history import MAX_PAGE, thumbnail_key
from reelforge.jobs.record import is_job_id
from reelforge.jobs.schema import jobs
from reelforge.storage import Storage

log = logging.getLogger("reelforge.openai")


@dataclass(frozen=True)
class Page:
    jobs: list[Job]
    more: bool  # more jobs follow the last one in this order


def page(queue: JobQueue, owner: str, *, limit: int, after: str | None, order: str) -> Page:
    """`owner`'s unexpired jobs in `order` ("asc" oldest first, "desc" newest first):
    at most `limit`, those past job `after` when given (BadRequest naming `after` when it
    is not one of `owner`'s unexpired jobs: another account's is exactly as unknown)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit: must be 1..{MAX_PAGE}", param="limit")
    mine = and_(jobs.c.owner == owner, jobs.c.expires_at > time.time())
    newest_first = order != "asc"
    query = select(jobs).where(mine)
    with queue.db.begin() as conn:
        if after is not None:
            last = None
            if is_job_id(after):  # anything else is no video, and may not be queried
                last = conn.execute(
                    select(jobs.c.created_at, jobs.c.id).where(mine, jobs.c.id == after)
                ).one_or_none()
            if last is None:
                raise BadRequest(
                    f"after: no video {after} of this account (unknown or expired)", param="after"
                )
            if newest_first:
                past = or_(
                    jobs.c.created_at < last.created_at,
                    and_(jobs.c.created_at == last.created_at, jobs.c.id < last.id),
                )
            else:
                past = or_(
                    jobs.c.created_at > last.created_at,
                    and_(jobs.c.created_at == last.created_at, jobs.c.id > last.id),
                )
            query = query.where(past)
        if newest_first:
            query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        else:
            query = query.order_by(jobs.c.created_at.asc(), jobs.c.id.asc())
        rows = conn.execute(query.limit(limit + 1)).all()
    return Page([Job.from_row(row) for row in rows[:limit]], more=len(rows) > limit)


def delete(queue: JobQueue, storage: Storage, job: Job) -> None:
    """Remove `job` and its files now, as its expiry would."""
    if not job.terminal:
        queue.cancel(job.id)  # a job still running stops; its credits are released
    with queue.db.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.owner == job.owner)
            .values(expires_at=time.time())
        )
    for gone in queue.expire():
        if not gone.output_key:
            continue
        for key in (gone.output_key, thumbnail_key(gone.output_key)):
            try:
                storage.delete(key)
            except Exception:  # the row is gone already: the file is only left behind
                log.exception("could not delete %s of request %s", key, gone.id)
