"""What /status says about a job, in two steps: `facts` reads what the row alone does
not hold (queue position, live workers, measured times), `body` renders the JSON for one
base URL. The status route does both; the stream (watch.py) reads the facts once per
change of a job and renders them for every client watching it."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from reelforge import eta as eta_model
from reelforge import views
from reelforge.api.deps import Services
from reelforge.jobs import Job, Status, fleet, timings


@dataclass(frozen=True)
class StatusFacts:
    job: Job
    queue_position: int | None  # QUEUED only: jobs claimed before it (0 = next)
    workers: int  # live workers serving its model (counted for QUEUED jobs only)
    eta_seconds: float | None  # timings.eta_seconds

    @property
    def event_id(self) -> str:
        """Changes exactly when the body's state does (the stream's `id:`)."""
        if self.job.status is not Status.QUEUED:
            return str(self.job.version)
        return f"{self.job.version}.{self.queue_position}.{min(self.workers, 1)}"


def facts(services: Services, job: Job, serving: dict[str, int] | None = None) -> StatusFacts:
    """The facts of `job`'s status: one count and one small read for a QUEUED job
    (`serving`, live workers per slug, when the caller read it already for many jobs).
    Blocking: call it in a thread (the fast reads, then the queue's if they fail)."""
    position = None
    if job.status is Status.QUEUED:
        try:
            position = services.reads.queue_position(job)
            if serving is None:
                serving = services.reads.serving(_live_window(services))
        except sqlite3.Error:  # busy or failing: the queue's reads (and their errors)
            position = services.queue.queue_position(job)
            serving = serving if serving is not None else live_workers(services)
    return _facts(services, job, position, serving or {})


def facts_inline(services: Services, job: Job) -> StatusFacts | None:
    """The same from the fast reads alone, on the event loop (`services.reads.inline`),
    with the measured means as they are (a thread reloads them when due: that query may
    wait for the write lock). None before they were ever read, sqlite3.Error when the
    database is busy or failing: in both cases call `facts` in a thread."""
    if not job.terminal and not services.timings.loaded:
        return None
    position, serving = None, {}
    if job.status is Status.QUEUED:
        position = services.reads.queue_position(job)
        serving = services.reads.serving(_live_window(services))
    return _facts(services, job, position, serving, inline=True)


def _facts(
    services: Services,
    job: Job,
    position: int | None,
    serving: dict[str, int],
    *,
    inline: bool = False,
) -> StatusFacts:
    workers = serving.get(job.slug, 0) if job.status is Status.QUEUED else 1
    eta = 0.0 if job.terminal else None
    if not job.terminal:
        size = timings.size_of(job.params)
        cache = services.timings
        stats = cache.peek(job.slug, size) if inline else cache.get(job.slug, size)
        run = functools.partial(eta_model.job_run_seconds, services.settings, stats, job.params)
        eta = timings.eta_seconds(job, stats, queue_position=position, workers=workers, run=run)
    return StatusFacts(job, position, workers, eta)


def _live_window(services: Services) -> float:
    return fleet.live_window(services.settings.heartbeat_seconds)


def body(facts: StatusFacts, base_url: str) -> dict[str, Any]:
    """The /status JSON of `facts` for a client that reached us at `base_url`."""
    job = facts.job
    return views.status(
        job,
        views.Links(base_url, job.id),
        queue_position=facts.queue_position,
        served=facts.workers > 0,
        eta_seconds=facts.eta_seconds,
    )


def body_key(facts: StatusFacts, base_url: str) -> Hashable | None:
    """What `body(facts, base_url)` is made of, to keep its rendering by (`Services.
    status_bodies`): the row's version (every write of a job bumps it), its place and
    whether a worker serves it, the ETA and the base URL. None for the one body that also
    depends on the clock: a QUEUED job's back-off countdown ("retrying ... in 8 s")."""
    job = facts.job
    if job.status is Status.QUEUED and job.not_before and job.not_before > time.time():
        return None
    served = facts.workers > 0
    return (job.id, job.version, facts.queue_position, served, facts.eta_seconds, base_url)


def live_workers(services: Services) -> dict[str, int]:
    """slug -> live workers serving it."""
    return fleet.serving(services.db, _live_window(services))
