"""The fleet: which workers are alive, what they serve, and how deep each queue is.

Workers insert their row at start and renew `heartbeat_at` while they run; a worker is
live while its heartbeat is recent. Nothing coordinates through this table: claims go
through the jobs table alone. It exists so operators (`reelforge status`,
GET /v1/admin/status) can see the fleet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from reelforge.jobs.record import Status
from reelforge.jobs.schema import jobs, workers


@dataclass(frozen=True)
class WorkerInfo:
    id: str  # host:pid:random
    hostname: str
    pid: int
    slugs: list[str]  # endpoints it claims jobs for
    engine: str  # engine description
    device: str  # cpu, cuda:0, ...
    memory_bytes: int | None  # the device's memory


def register(engine: Engine, info: WorkerInfo) -> None:
    now = time.time()
    with engine.begin() as conn:
        conn.execute(delete(workers).where(workers.c.id == info.id))
        conn.execute(
            insert(workers).values(**info.__dict__, started_at=now, heartbeat_at=now, jobs_done=0)
        )


def beat(
    engine: Engine, worker_id: str, current_job: str | None, *, finished: bool = False
) -> None:
    """Renew the worker's presence; `finished` counts one more job done."""
    values: dict[str, Any] = {"heartbeat_at": time.time(), "current_job": current_job}
    if finished:
        values["jobs_done"] = workers.c.jobs_done + 1
    with engine.begin() as conn:
        conn.execute(update(workers).where(workers.c.id == worker_id).values(**values))


def unregister(engine: Engine, worker_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(workers).where(workers.c.id == worker_id))


def live_workers(engine: Engine, within: float) -> list[dict[str, Any]]:
    """Workers whose heartbeat is at most `within` seconds old (and forgets older ones)."""
    cutoff = time.time() - within
    with engine.begin() as conn:
        conn.execute(delete(workers).where(workers.c.heartbeat_at < cutoff - 3600))
        rows = conn.execute(
            select(workers).where(workers.c.heartbeat_at >= cutoff).order_by(workers.c.started_at)
        )
        return [dict(row._mapping) for row in rows]


def queue_depth(engine: Engine) -> dict[str, dict[str, int]]:
    """slug -> {"QUEUED": n, "PROCESSING": m} over unexpired jobs."""
    now = time.time()
    active = (Status.QUEUED.value, Status.PROCESSING.value)
    query = (
        select(jobs.c.slug, jobs.c.status, func.count())
        .where(jobs.c.status.in_(active), jobs.c.expires_at > now)
        .group_by(jobs.c.slug, jobs.c.status)
    )
    depth: dict[str, dict[str, int]] = {}
    with engine.begin() as conn:
        for slug, status, count in conn.execute(query):
            depth.setdefault(slug, {state: 0 for state in active})[status] = int(count)
    return depth
