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
    """Queue depth per slug and the live workers (live = heartbeat within 3 beats)."""
    return {
        "queues": fleet.queue_depth(db),
        "workers": fleet.live_workers(db, within=3 * heartbeat_seconds + 5),
    }


@router.get("/v1/admin/status")
def get_status(_admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """Queue depth per endpoint and the live workers."""
    return fleet_status(services.queue.engine, services.settings.heartbeat_seconds)
