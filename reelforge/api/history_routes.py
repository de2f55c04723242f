"""The caller's history: GET /v1/requests, its account's requests newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from reelforge import views
from reelforge.api import status
from reelforge.api.deps import BaseUrlDep, OwnerDep, ServicesDep
from reelforge.api.requests_routes import file_urls
from reelforge.jobs import Status, history

router = APIRouter()

DEFAULT_PAGE = 20


@router.get("/v1/requests")
def list_requests(
    owner: OwnerDep,
    services: ServicesDep,
    base_url: BaseUrlDep,
    limit: Annotated[int, Query(ge=1, le=history.MAX_PAGE)] = DEFAULT_PAGE,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The account's unexpired requests, newest first; `after` (a request id) pages on."""
    page = history.listing(services.db, owner, limit=limit, after=after)
    queued = any(job.status is Status.QUEUED for job in page.jobs)
    serving = status.live_workers(services) if queued else {}
    items = [
        views.history_item(
            job, file_urls(services, job, base_url), served=serving.get(job.slug, 0) > 0
        )
        for job in page.jobs
    ]
    last = page.jobs[-1].id if page.jobs and page.more else None
    return {"requests": items, "next": last}
