"""The fleet: which workers are alive, what they serve, and how deep each queue is.

Workers insert their row at start and renew `heartbeat_at` while they run; a worker is
live while its heartbeat is recent (`live_window`). A worker that stopped beating (it
was SIGKILLed, its machine lost) stays listed as gone for an hour, until a worker
starting on its host sees its process is dead (`forget_dead`), or a later listing
drops it. Nothing coordinates through this table: claims go through the jobs table
alone. It exists so operators (`reelforge status`, GET /v1/admin/status) and clients
(a QUEUED job's stage: "waiting for a worker") can see the fleet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from reelforge.jobs.record import Status
from reelforge.jobs.schema import jobs, workers

FORGET_AFTER_SECONDS = 3600.0  # a gone worker is listed this long, then dropped


@dataclass(frozen=True)
class WorkerInfo:
    id: str  # host:pid:random
    hostname: str
    pid: int
    slugs: list[str]  # endpoints it claims jobs for
    engine: str  # engine description
    device: str  # cpu, cuda:0, ...
    memory_bytes: int | None  # the device's memory
    runtime: dict[str, Any] | None = None  # checkpoint identity and versions (manifests.py)


def live_window(heartbeat_seconds: float) -> float:
    """How old a heartbeat may be for its worker to count as live: three missed beats,
    plus slack for a busy database."""
    return 3 * heartbeat_seconds + 5


def register(db: Engine, info: WorkerInfo) -> None:
    now = time.time()
    with db.begin() as conn:
        conn.execute(delete(workers).where(workers.c.id == info.id))
        conn.execute(
            insert(workers).values(**info.__dict__, started_at=now, heartbeat_at=now, jobs_done=0)
        )


def runtimes(db: Engine, slug: str, within: float) -> list[dict[str, Any]]:
    """What the live workers serving `slug` run (their checkpoint identity and versions):
    one entry per distinct runtime, those that did not say left out."""
    cutoff = time.time() - within
    with db.begin() as conn:
        rows = conn.execute(
            select(workers.c.slugs, workers.c.runtime).where(workers.c.heartbeat_at >= cutoff)
        ).all()
    found: list[dict[str, Any]] = []
    for row in rows:
        if row.runtime and slug in (row.slugs or ()) and row.runtime not in found:
            found.append(dict(row.runtime))
    return found


def beat(db: Engine, worker_id: str, current_job: str | None, *, finished: bool = False) -> None:
    """Renew the worker's presence; `finished` counts one more job done."""
    values: dict[str, Any] = {"heartbeat_at": time.time(), "current_job": current_job}
    if finished:
        values["jobs_done"] = workers.c.jobs_done + 1
    with db.begin() as conn:
        conn.execute(update(workers).where(workers.c.id == worker_id).values(**values))


def unregister(db: Engine, worker_id: str) -> None:
    with db.begin() as conn:
        conn.execute(delete(workers).where(workers.c.id == worker_id))


def listing(db: Engine, within: float) -> list[dict[str, Any]]:
    """Every worker seen in the last hour, oldest first, each with `live` (a heartbeat
    at most `within` seconds old) and `last_seen` (seconds since its heartbeat). A gone
    worker runs nothing: its `current_job` is None (its job's lease lapses, and the job
    runs again elsewhere)."""
    now = time.time()
    with db.begin() as conn:
        conn.execute(delete(workers).where(workers.c.heartbeat_at < now - FORGET_AFTER_SECONDS))
        rows = [dict(row._mapping) for row in conn.execute(select(workers))]
    for row in rows:
        row["live"] = row["heartbeat_at"] >= now - within
        row["last_seen"] = round(max(0.0, now - row["heartbeat_at"]), 1)
        if not row["live"]:
            row["current_job"] = None
    return sorted(rows, key=lambda row: (not row["live"], row["started_at"]))


def serving(db: Engine, within: float) -> dict[str, int]:
    """slug -> how many live workers claim its jobs (slugs nobody serves are absent).
    One indexed query on a table of a few rows: cheap enough for every status poll."""
    cutoff = time.time() - within
    counts: dict[str, int] = {}
    with db.begin() as conn:
        for (slugs,) in conn.execute(
            select(workers.c.slugs).where(workers.c.heartbeat_at >= cutoff)
        ):
            for slug in slugs:
                counts[slug] = counts.get(slug, 0) + 1
    return counts


def forget_dead(
    db: Engine, hostname: str, alive: Callable[[int, float], bool], within: float
) -> int:
    """Drop the rows of workers on `hostname` whose heartbeat lapsed and whose process
    `alive(pid, started_at)` says is gone; returns how many. Rows of other hosts are
    left: from here nobody can tell a dead machine from a partitioned one."""
    cutoff = time.time() - within
    with db.begin() as conn:
        lapsed = conn.execute(
            select(workers.c.id, workers.c.pid, workers.c.started_at).where(
                workers.c.hostname == hostname, workers.c.heartbeat_at < cutoff
            )
        ).all()
        dead = [row.id for row in lapsed if not alive(row.pid, row.started_at)]
        if dead:
            conn.execute(delete(workers).where(workers.c.id.in_(dead)))
    return len(dead)


def queue_depth(db: Engine) -> dict[str, dict[str, int]]:
    """slug -> {"QUEUED": n, "PROCESSING": m} over unexpired jobs."""
    now = time.time()
    active = (Status.QUEUED.value, Status.PROCESSING.value)
    query = (
        select(jobs.c.slug, jobs.c.status, func.count())
        .where(jobs.c.status.in_(active), jobs.c.expires_at > now)
        .group_by(jobs.c.slug, jobs.c.status)
    )
    depth: dict[str, dict[str, int]] = {}
    with db.begin() as conn:
        for slug, status, count in conn.execute(query):
            depth.setdefault(slug, {state: 0 for state in active})[status] = int(count)
    return depth
