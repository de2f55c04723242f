"""Polling a request: /v2/requests/{id}/status, /v2/requests/{id}, /v1/requests/{id}."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from reelforge import views
from reelforge.accounts import credits
from reelforge.api import status
from reelforge.api.deps import (
    BaseUrlDep,
    OwnerDep,
    Services,
    ServicesDep,
    authenticate,
    find_job,
    get_base_url,
)
from reelforge.errors import NotFound
from reelforge.jobs import Job, Status

router = APIRouter()

FAILED_HTTP_STATUS = 422  # the vendor serves FAILED requests as 422 with the body


def _answer(job: Job, body: dict[str, Any]) -> JSONResponse:
    code = FAILED_HTTP_STATUS if job.status is Status.FAILED else 200
    return JSONResponse(body, status_code=code)


def file_urls(services: Services, job: Job, base_url: str) -> views.Files:
    """Signed URLs of a completed job's mp4 and thumbnail, valid while the job is retained."""
    return views.file_urls(services.storage, services.signer, job, base_url)


def status_answer(services: Services, job: Job, base_url: str) -> JSONResponse:
    return _answer(job, status.body(status.facts(services, job), base_url))


def result_answer(services: Services, job: Job, base_url: str) -> JSONResponse:
    if not job.terminal:
        return status_answer(services, job, base_url)
    links = views.Links(base_url, job.id)
    balance = credits.balance(services.db, job.owner)
    body = views.result(
        job,
        links,
        files=file_urls(services, job, base_url),
        remaining_credits=None if balance is None else balance.available,
    )
    return _answer(job, body)


@router.get("/v2/requests/{request_id}/status")
async def get_status(request_id: str, request: Request) -> Response:
    """State and progress of a request (never its output)."""
    # The most polled route. Its dependencies are resolved here, by hand: FastAPI's
    # resolution of the four (services, caller, owner, base URL) cost more than all the
    # rest of the route. On SQLite the job's row (and a QUEUED job's place and the live
    # workers) are read on the event loop, lock-free reads of tens of microseconds
    # (jobs/reads.py); PostgreSQL or a busy database take one hop to the thread pool.
    services: Services = request.app.state.services
    headers = request.headers
    caller = await authenticate(services, headers.get("x-api-key"), headers.get("authorization"))
    owner, base_url = caller.account, get_base_url(request, services)
    facts = _inline_facts(services, request_id, owner) if services.reads.inline else None
    if facts is None:
        facts = await anyio.to_thread.run_sync(
            _status_facts, services, request_id, owner, limiter=services.status_reads
        )
    return _status_response(services, facts, base_url)


def _status_response(services: Services, facts: status.StatusFacts, base_url: str) -> Response:
    """The /status answer, its bytes rendered once per state of the job (status_bodies.py)."""
    key = status.body_key(facts, base_url)
    content = None if key is None else services.status_bodies.get(key)
    if content is None:
        content = _json(status.body(facts, base_url))
        if key is not None:
            services.status_bodies.put(key, content)
    code = FAILED_HTTP_STATUS if facts.job.status is Status.FAILED else 200
    return Response(content, status_code=code, media_type="application/json")


def _json(body: dict[str, Any]) -> bytes:
    """`body` encoded exactly as JSONResponse encodes it."""
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _inline_facts(services: Services, request_id: str, owner: str) -> status.StatusFacts | None:
    """The facts from the fast reads, on the event loop; None: ask the thread pool."""
    try:
        job = services.reads.job(request_id)
        if job is None or job.owner != owner:
            raise NotFound(f"Request {request_id} not found")
        return status.facts_inline(services, job)
    except sqlite3.Error:  # busy (a WAL recovery) or failing: the queue's path decides
        return None


def _status_facts(services: Services, request_id: str, owner: str) -> status.StatusFacts:
    try:
        job = services.reads.job(request_id)
    except sqlite3.Error:
        job = services.queue.get(request_id)  # and its errors answer for the database
    if job is None or job.owner != owner:
        raise NotFound(f"Request {request_id} not found")
    return status.facts(services, job)


@router.get("/v2/requests/{request_id}")
@router.get("/v1/requests/{request_id}")  # the submit answer's poll_url
def get_result(
    request_id: str, owner: OwnerDep, services: ServicesDep, base_url: BaseUrlDep
) -> JSONResponse:
    """The final body of a request: output URL and metrics once COMPLETED."""
    return result_answer(services, find_job(services, request_id, owner), base_url)


@router.post("/v2/requests/{request_id}/cancel")
def cancel(
    request_id: str, owner: OwnerDep, services: ServicesDep, base_url: BaseUrlDep
) -> JSONResponse:
    """Stop a request: it ends FAILED with error 'cancelled by request'."""
    find_job(services, request_id, owner)
    # None only if it expired in between: then find_job answers the 404
    job = services.queue.cancel(request_id) or find_job(services, request_id, owner)
    return status_answer(services, job, base_url)
