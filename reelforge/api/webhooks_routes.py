"""Webhooks: GET/POST /v1/webhooks/secret (an account's), GET /v2/requests/{id}/webhooks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from reelforge.api.deps import OwnerDep, ServicesDep, find_job
from reelforge.jobs.schema import webhook_attempts, webhook_deliveries
from reelforge.webhooks import secrets

router = APIRouter()


@router.get("/v1/webhooks/secret")
def get_secret(owner: OwnerDep, services: ServicesDep) -> dict[str, str]:
    """The secret that signs your account's webhooks (made on first read)."""
    return {"secret": secrets.read(services.db, owner)}


@router.post("/v1/webhooks/secret")
def rotate_secret(owner: OwnerDep, services: ServicesDep) -> dict[str, str]:
    """Replace your account's webhook secret; the answer holds the new one."""
    return {"secret": secrets.rotate(services.db, owner)}


@router.get("/v2/requests/{request_id}/webhooks")
def list_deliveries(request_id: str, owner: OwnerDep, services: ServicesDep) -> dict[str, Any]:
    """A request's webhook deliveries and every attempt of each, oldest first."""
    job = find_job(services, request_id, owner)
    d, a = webhook_deliveries, webhook_attempts
    with services.db.begin() as conn:
        rows = conn.execute(
            select(d).where(d.c.job_id == job.id).order_by(d.c.created_at, d.c.id)
        ).all()
        tries = conn.execute(
            select(a)
            .where(a.c.delivery_id.in_(select(d.c.id).where(d.c.job_id == job.id)))
            .order_by(a.c.delivery_id, a.c.attempt)
        ).all()
    log: dict[str, list[dict[str, Any]]] = {}
    for t in tries:
        log.setdefault(t.delivery_id, []).append(
            {
                "attempt": t.attempt,
                "at": t.at,
                "status_code": t.status_code,
                "error": t.error,
                "seconds": t.seconds,
            }
        )
    deliveries = [
        {
            "id": row.id,
            "event": row.event,
            "url": row.url,
            "status": row.status,
            "attempts": row.attempts,
            "created_at": row.created_at,
            # a delivery in flight shows its lease's end; a finished one, none
            "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
            "finished_at": row.finished_at,
            "attempt_log": log.get(row.id, []),
        }
        for row in rows
    ]
    return {"request_id": job.id, "deliveries": deliveries}
