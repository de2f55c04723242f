"""GET /metrics: Prometheus text format (docs/metrics.md). No API key, as Prometheus
scrapers expect: it tells counts and durations, never a request's content or owner."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry

from reelforge import endpoints
from reelforge.api.deps import Services, ServicesDep
from reelforge.metrics import exposition
from reelforge.metrics.collector import FleetCollector

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, services: ServicesDep) -> Response:
    """This machine's counters and histograms, and the fleet's gauges from the database."""
    body = exposition.scrape(_registry(request, services))
    return Response(body, media_type=exposition.CONTENT_TYPE)


def _registry(request: Request, services: Services) -> CollectorRegistry:
    """One per app (built at its first scrape): the fleet collector reads its database."""
    state = request.app.state
    if getattr(state, "metrics_registry", None) is None:
        fleet = FleetCollector(services.db, endpoints.SLUGS, services.settings.heartbeat_seconds)
        state.metrics_registry = exposition.registry(fleet)
    registry: CollectorRegistry = state.metrics_registry
    return registry
