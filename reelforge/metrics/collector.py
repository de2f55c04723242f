"""Gauges of the whole fleet, read from the database when Prometheus scrapes: queue
depth, the oldest queued job's age, running jobs and live workers, per model.

They are computed, not recorded: every API process reads the same rows, so whichever
one is scraped tells the truth for the fleet (no per-process gauge to add up or to go
stale when a process dies). Three indexed queries per scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from reelforge.jobs import fleet
from reelforge.jobs.record import Status
from reelforge.jobs.schema import jobs

log = logging.getLogger("reelforge.metrics")


class FleetCollector(Collector):
    """The database's view of the queue and the workers, for every model in `slugs`
    (a model with nothing queued reads 0, rather than vanishing from the graphs)."""

    def __init__(self, db: Engine, slugs: Sequence[str], heartbeat_seconds: float):
        self.db = db
        self.slugs = list(slugs)
        self.within = fleet.live_window(heartbeat_seconds)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "reelforge_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            depth = fleet.queue_depth(self.db)
            oldest = _oldest_queued(self.db)
            live = fleet.serving(self.db, self.within)
        except Exception as error:  # a scrape during an outage: say so, not a 500
            log.warning("metrics: the database did not answer: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = time.time()
        slugs = _union(self.slugs, depth, oldest, live)
        yield _per_model(
            "reelforge_queue_depth",
            "Jobs QUEUED (waiting for a worker), per model.",
            {slug: depth.get(slug, {}).get(Status.QUEUED.value, 0) for slug in slugs},
        )
        yield _per_model(
            "reelforge_queue_oldest_age_seconds",
            "Seconds the oldest QUEUED job of each model has waited (0: none waits).",
            {slug: max(0.0, now - oldest[slug]) if slug in oldest else 0.0 for slug in slugs},
        )
        yield _per_model(
            "reelforge_jobs_running",
            "Jobs PROCESSING (claimed by a worker), per model.",
            {slug: depth.get(slug, {}).get(Status.PROCESSING.value, 0) for slug in slugs},
        )
        yield _per_model(
            "reelforge_workers_live",
            "Live workers (recent heartbeat) that claim jobs of each model.",
            {slug: live.get(slug, 0) for slug in slugs},
        )


def _oldest_queued(db: Engine) -> dict[str, float]:
    """slug -> created_at of its oldest unexpired QUEUED job."""
    now = time.time()
    query = (
        select(jobs.c.slug, func.min(jobs.c.created_at))
        .where(jobs.c.status == Status.QUEUED.value, jobs.c.expires_at > now)
        .group_by(jobs.c.slug)
    )
    with db.begin() as conn:
        return {slug: float(created) for slug, created in conn.execute(query)}


def _union(first: Iterable[str], *more: Iterable[str]) -> list[str]:
    seen = dict.fromkeys(first)
    for names in more:
        seen.update(dict.fromkeys(names))
    return list(seen)


def _per_model(name: str, documentation: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["model"])
    for slug, value in values.items():
        family.add_metric([slug], value)
    return family
