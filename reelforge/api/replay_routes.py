"""POST /v2/requests/{id}/replay: the same request again, with its manifest's seed, checked
byte for byte against the original when it completes (docs/reproducibility.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reelforge import metrics, views
from reelforge.api.deps import BaseUrlDep, CallerDep, Services, ServicesDep, find_job, get_base_url
from reelforge.api.submit_routes import model
from reelforge.errors import Conflict, Forbidden
from reelforge.jobs import Job, NewJob, Status, fleet

router = APIRouter()


@router.post("/v2/requests/{request_id}/replay")
async def replay(
    request_id: str,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    base_url: BaseUrlDep,
) -> JSONResponse:
    """Run a COMPLETED request again with its seed; its result says whether it matched."""
    original = await run_in_threadpool(find_job, services, request_id, caller.account)
    endpoint = model(original.slug)
    if caller.slugs is not None and original.slug not in caller.slugs:
        allowed = ", ".join(caller.slugs)
        raise Forbidden(f"This API key may not use model {original.slug}; it may use: {allowed}")
    if original.status is not Status.COMPLETED:
        raise Conflict(
            f"Request {request_id} is {original.status.value}: only a COMPLETED request "
            "can be replayed"
        )
    manifest = original.manifest
    if not manifest:
        raise Conflict(f"Request {request_id} has no manifest (it completed before manifests)")
    params = {**original.params, "seed": manifest.get("seed", original.params.get("seed"))}
    new = NewJob(
        slug=original.slug,
        owner=caller.account,
        params=params,
        price_units=services.prices.units(endpoint, params),  # it runs again: it costs again
        base_url=get_base_url(request, services),
        replay=replay_record(original),
    )
    created = await run_in_threadpool(services.queue.submit, new)
    metrics.job_submitted(original.slug)
    here = await run_in_threadpool(_differences_here, services, original)
    body: dict[str, Any] = {
        **views.submitted(created.id, views.Links(base_url, created.id)),
        "replay_of": original.id,
        # whether the workers serving this model now run the original's checkpoint and
        # versions: only then is a byte-for-byte match expected
        "comparable": not here,
        "differences": here,
    }
    return JSONResponse(body)


def replay_record(original: Job) -> dict[str, Any]:
    """What a replay keeps of its original (which may expire before the replay ends)."""
    manifest = original.manifest or {}
    return {
        "of": original.id,
        "output_sha256": original.output_sha256,
        "checkpoint": manifest.get("checkpoint"),
        "versions": manifest.get("versions"),
    }


def _differences_here(services: Services, original: Job) -> list[str]:
    """What the live workers of the original's model run that differs from its manifest
    (empty: at least one of them matches it)."""
    within = fleet.live_window(services.settings.heartbeat_seconds)
    runtimes = fleet.runtimes(services.db, original.slug, within)
    if not runtimes:
        return [f"no live worker serves {original.slug} now"]
    record = replay_record(original)
    found = [views.runtime_differences(record, runtime) for runtime in runtimes]
    return [] if any(not differences for differences in found) else found[0]
