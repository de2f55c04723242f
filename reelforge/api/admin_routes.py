"""Operator views, for the admin key only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from reelforge import accounts
from reelforge.api.deps import OwnerDep, ServicesDep
from reelforge.errors import Forbidden
from reelforge.jobs import fleet

router = APIRouter()


def require_admin(owner: OwnerDep) -> str:
    if owner != accounts.ADMIN:
        raise Forbidden("This endpoint needs the admin key")
    return owner


AdminDep = Annotated[str, Depends(require_admin)]


def fleet_status(db: Engine, heartbeat_seconds: float) -> dict[str, Any]:
    """Queue depth per slug, live workers per slug, the slugs with QUEUED jobs that no
    live worker serves, and every worker seen lately (`live`, or gone since
    `last_seen` seconds)."""
    within = fleet.live_window(heartbeat_seconds)
    queues = fleet.queue_depth(db)
    serving = fleet.serving(db, within)
    return {
        "queues": queues,
        "workers_per_slug": serving,
        "unserved": sorted(
            slug for slug, depth in queues.items() if depth["QUEUED"] and not serving.get(slug)
        ),
        "workers": fleet.listing(db, within),
    }


@router.get("/v1/admin/status")
def get_status(_admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """Queue depth per endpoint, and the workers: live and gone."""
    return fleet_status(services.db, services.settings.heartbeat_seconds)
