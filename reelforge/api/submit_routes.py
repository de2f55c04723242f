"""Submitting work: POST /v2/{slug} (queue and answer at once) and POST /v1/{slug}
(queue, wait, answer the mp4). Both go through `accept`: one code path."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from reelforge import endpoints
from reelforge.api import views
from reelforge.api.deps import BaseUrlDep, OwnerDep, Services, ServicesDep
from reelforge.api.requests_routes import FAILED_HTTP_STATUS
from reelforge.errors import BadRequest, GatewayTimeout, NotFound
from reelforge.jobs import Job, Status

router = APIRouter()

SYNC_POLL_SECONDS = 0.2  # how often a waiting sync call re-reads its job


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"request body must be valid JSON ({exc})") from None


async def accept(request: Request, slug: str, owner: str, services: Services) -> Job:
    """Validate a submit and record it as a QUEUED job (or refuse with 4xx, no job)."""
    endpoint = endpoints.get(slug)
    if endpoint is None:
        raise NotFound(f"Model {slug} not found")
    params = endpoint.validate(await _json_body(request), url_checker=services.url_checker)
    return await run_in_threadpool(services.queue.submit, slug=slug, owner=owner, params=params)


@router.post("/v2/{slug}")
async def submit_async(
    slug: str, request: Request, owner: OwnerDep, services: ServicesDep, base_url: BaseUrlDep
) -> JSONResponse:
    """Queue a generation; answers at once with the request's URLs."""
    job = await accept(request, slug, owner, services)
    return JSONResponse(views.submitted(job, views.Links(base_url, job.id)))


@router.post("/v1/{slug}", response_model=None)
async def run_sync(
    slug: str, request: Request, owner: OwnerDep, services: ServicesDep, base_url: BaseUrlDep
) -> FileResponse | JSONResponse:
    """Queue a generation and wait for it; answers the mp4 bytes."""
    job = await accept(request, slug, owner, services)
    deadline = time.monotonic() + services.settings.sync_timeout
    while not job.terminal:
        if time.monotonic() >= deadline:
            links = views.Links(base_url, job.id)
            raise GatewayTimeout(
                f"Request {job.id} is still running after {services.settings.sync_timeout:g} s; "
                f"poll {links.status_url} for its result",
                request_id=job.id,
                status_url=links.status_url,
                response_url=links.response_url,
            )
        await anyio.sleep(SYNC_POLL_SECONDS)
        job = await run_in_threadpool(services.queue.get, job.id) or job
    if job.status is Status.FAILED:
        body = {"request_id": job.id, "status": "FAILED", "error": job.error}
        return JSONResponse(body, status_code=FAILED_HTTP_STATUS)
    assert job.output_key is not None  # COMPLETED always stores its output
    return FileResponse(
        services.storage.path(job.output_key),
        media_type="video/mp4",
        headers={
            "x-request-id": job.id,
            "x-seed-value": str(job.params.get("seed")),
            "x-generation-time": f"{job.inference_time or 0.0:.3f}",
            "x-cost": f"{job.cost or 0.0:g}",
            "x-remaining-credits": "unlimited",
        },
    )
