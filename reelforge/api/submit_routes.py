"""Submitting work: POST /v2/{slug} (queue and answer at once) and POST /v1/{slug}
(queue, wait, answer the mp4). Both go through `accept`: one code path."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.convertors import StringConvertor, register_url_convertor

from reelforge import endpoints, metrics, views
from reelforge.accounts import credits, idempotency
from reelforge.accounts.keys import Caller
from reelforge.api import caching
from reelforge.api.body import read_json
from reelforge.api.deps import BaseUrlDep, CallerDep, Services, ServicesDep, get_base_url
from reelforge.api.input_headers import refuse_oversized_videos
from reelforge.api.requests_routes import FAILED_HTTP_STATUS
from reelforge.endpoints import Endpoint
from reelforge.errors import Forbidden, GatewayTimeout, NotFound
from reelforge.jobs import Job, NewJob, Status
from reelforge.webhooks import request as webhook_request


class ModelName(StringConvertor):
    """{slug:model}: any name but those of fixed paths beside /v1/{slug} (POST
    /v1/get-user-credits or /v1/requests is a 405, GET only; not "Model get-user-credits
    not found")."""

    regex = "(?!(?:get-user-credits|files|requests)$)[^/]+"


register_url_convertor("model", ModelName())
router = APIRouter()

IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True)
class Accepted:
    job_id: str
    replayed: bool  # an earlier submit with the same Idempotency-Key made this job
    status: Status = Status.QUEUED  # COMPLETED at once: served from the result cache
    # (the submit answer still says QUEUED, as the vendor's always does; `cached` says so)


async def _json_body(request: Request, services: Services) -> Any:
    """The submit's parameters: capped at REELFORGE_MAX_BODY_BYTES (413), parsed off the
    event loop; an empty body is no parameters."""
    hint = "; send large media through POST /v1/files and pass its URL"
    body = await read_json(request, services.settings.max_body_bytes, hint)
    return {} if body is None else body


@dataclass(frozen=True)
class Parsed:
    endpoint: Endpoint
    body: Any  # the JSON body as sent
    params: dict[str, Any]  # validated, defaults filled in (`Endpoint.validate`)
    webhook: webhook_request.WebhookRequest
    fields: Any = None  # the endpoint's parameters as sent (webhook and cache fields off)
    cache: bool = True  # the `cache` field: false, never from (nor into) the result cache


def model(slug: str) -> Endpoint:
    endpoint = endpoints.get(slug)
    if endpoint is None:
        raise NotFound(f"Model {slug} not found")
    return endpoint


async def parse(request: Request, endpoint: Endpoint, services: Services) -> Parsed:
    """A submit's body, validated (413 past the cap, 400 naming the field): what a submit
    and an estimate (estimate_routes.py) both check."""
    body = await _json_body(request, services)
    allow_private = services.settings.allow_private_urls
    fields, webhook = webhook_request.take(body, allow_private=allow_private)
    await run_in_threadpool(webhook_request.check_addresses, webhook, allow_private=allow_private)
    fields, use_cache = caching.take(fields)
    params = endpoint.validate(fields, url_checker=services.url_checker)
    await run_in_threadpool(refuse_oversized_videos, endpoint, params, services.settings)
    return Parsed(endpoint, body, params, webhook, fields, use_cache)


async def accept(request: Request, slug: str, caller: Caller, services: Services) -> Accepted:
    """Validate a submit, hold its price and record it as a QUEUED job (or refuse with
    4xx and no job). With an Idempotency-Key, a repeat returns the first job instead."""
    endpoint = model(slug)
    if caller.slugs is not None and slug not in caller.slugs:
        allowed = ", ".join(caller.slugs)
        raise Forbidden(f"This API key may not use model {slug}; it may use: {allowed}")
    parsed = await parse(request, endpoint, services)
    body, params, webhook = parsed.body, parsed.params, parsed.webhook
    fingerprint, lookup = None, None
    if services.settings.result_cache and parsed.cache and caching.allowed_by(request.headers):
        fingerprint = caching.fingerprint(services, endpoint, parsed.fields, params)
        if fingerprint is not None:
            lookup = await run_in_threadpool(caching.lookup, services, slug)
    new = NewJob(
        slug=slug,
        owner=caller.account,
        params=params,
        price_units=services.prices.units(endpoint, params),
        base_url=get_base_url(request, services),
        webhook=webhook.url,
        webhook_events=webhook.events,
        fingerprint=fingerprint,
        cache=lookup,
    )
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        created = await run_in_threadpool(services.queue.submit, new)
        metrics.job_submitted(slug)
        return Accepted(created.id, replayed=False, status=created.status)
    outcome = await run_in_threadpool(
        lambda: idempotency.submit_once(
            services.queue,
            new,
            scope=caller.key_id,
            key=idempotency.check_key(key),
            fingerprint=idempotency.fingerprint(slug, body),
            keep_seconds=services.settings.idempotency_hours * 3600,
        )
    )
    if outcome.replayed:  # answered as the first was
        return Accepted(outcome.job_id, replayed=True)
    metrics.job_submitted(slug)
    status = Status.QUEUED
    if lookup is not None:  # it may have been served from the cache: say so
        made: Job | None = await run_in_threadpool(lambda: services.queue.get(outcome.job_id))
        status = made.status if made is not None else status
    return Accepted(outcome.job_id, replayed=False, status=status)


def _replay_headers(accepted: Accepted) -> dict[str, str]:
    return {"idempotent-replayed": "true"} if accepted.replayed else {}


# documented once per model, with its parameters: api/openapi.py
@router.post("/v2/{slug:model}", include_in_schema=False)
async def submit_async(
    slug: str, request: Request, caller: CallerDep, services: ServicesDep, base_url: BaseUrlDep
) -> JSONResponse:
    """Queue a generation; answers at once with the request's URLs."""
    accepted = await accept(request, slug, caller, services)
    links = views.Links(base_url, accepted.job_id)
    cached = accepted.status is Status.COMPLETED and not accepted.replayed
    body = views.submitted(accepted.job_id, links, cached=cached)
    return JSONResponse(body, headers=_replay_headers(accepted))


@router.post("/v1/{slug:model}", response_model=None, include_in_schema=False)
async def run_sync(
    slug: str, request: Request, caller: CallerDep, services: ServicesDep, base_url: BaseUrlDep
) -> Response:
    """Queue a generation and wait for it; answers the mp4 bytes."""
    accepted = await accept(request, slug, caller, services)
    job = await _wait(services, accepted.job_id, base_url)
    if job.status is Status.FAILED:
        body = {"request_id": job.id, "status": "FAILED", "error": job.error}
        return JSONResponse(body, status_code=FAILED_HTTP_STATUS)
    assert job.output_key is not None  # COMPLETED always stores its output
    balance = await run_in_threadpool(credits.balance, services.db, caller.account)
    remaining = None if balance is None else balance.available
    headers = {
        "x-request-id": job.id,
        "x-seed-value": str(job.params.get("seed")),
        "x-generation-time": f"{job.inference_time or 0.0:.3f}",
        "x-cost": views.credits_text(job.cost or 0.0),
        "x-remaining-credits": views.credits_text(remaining),
        **_replay_headers(accepted),
    }
    path = services.storage.local_path(job.output_key)
    if path is not None:
        return FileResponse(path, media_type="video/mp4", headers=headers)
    # an object store: relay its bytes (the GET is sent here, so a missing object raises now)
    chunks = await run_in_threadpool(services.storage.read, job.output_key)
    return StreamingResponse(chunks, media_type="video/mp4", headers=headers)


async def _wait(services: Services, job_id: str, base_url: str) -> Job:
    """The job once terminal; 504 naming it past the sync timeout. Woken by the stream's
    reader (watch.py), which learns of each change as the stream does."""
    deadline = time.monotonic() + services.settings.sync_timeout
    async with services.watch.subscribe(job_id) as sub:
        # subscribed first, read second: an end in between is offered, not lost
        job = await run_in_threadpool(services.queue.get, job_id)
        while job is not None and not job.terminal:
            with anyio.move_on_after(deadline - time.monotonic()):
                update = await sub.next()
                job = None if update.facts is None else update.facts.job
                continue
            job = await run_in_threadpool(services.queue.get, job_id)  # the last word
            if job is not None and not job.terminal:
                links = views.Links(base_url, job.id)
                raise GatewayTimeout(
                    f"Request {job.id} is still running after "
                    f"{services.settings.sync_timeout:g} s; poll {links.status_url} for its result",
                    request_id=job.id,
                    status_url=links.status_url,
                    response_url=links.response_url,
                )
    if job is None:  # a replayed submit whose job has expired since
        raise NotFound(f"Request {job_id} not found")
    return job
