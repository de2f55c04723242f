"""POST /v2/{slug}/estimate: what a submit of this body would cost and plan, and when it
would be done on this server; no job, no charge.

Same body and the same 400s (and 404, 413) as `POST /v2/{slug}`, through the submit's own
parser (`submit_routes.parse`); any valid key may ask (no 403 for a key limited to other
models, no 406 for an account without credits: nothing is spent).

The ETA is the status route's model (`reelforge/eta.py`, `jobs.timings`): the jobs queued now,
shared among the live workers serving the model, then this job's own run, measured when
the fleet has completed jobs of this model and size, else from the plan's TFLOP; the
answer states which. With no live worker serving the model there is no ETA (`null`):
nothing would run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from reelforge import eta as eta_model
from reelforge.api.deps import CallerDep, Services, ServicesDep
from reelforge.api.submit_routes import model, parse
from reelforge.engines import planning
from reelforge.jobs import fleet, timings
from reelforge.jobs.billing import to_credits

router = APIRouter()


def eta(
    services: Services, slug: str, params: Mapping[str, Any], plan: planning.Plan
) -> dict[str, Any]:
    """`eta_seconds` and what it was made from (see the module docstring)."""
    settings = services.settings
    stats = services.timings.get(slug, timings.size_of(params))
    window = fleet.live_window(settings.heartbeat_seconds)
    workers = fleet.serving(services.db, window).get(slug, 0)
    ahead = sum(depth["QUEUED"] for depth in fleet.queue_depth(services.db).values())
    run, made_from = eta_model.run_seconds(settings, stats, plan)
    basis: dict[str, Any] = {"queued_ahead": ahead, "workers": workers, **made_from}
    basis["run_seconds"] = round(run, 1)
    seconds = timings.queued_seconds(run, ahead, workers) if workers else None
    return {"eta_seconds": None if seconds is None else round(seconds, 1), "eta": basis}


@router.post("/v2/{slug:model}/estimate", include_in_schema=False)
async def estimate(
    slug: str, request: Request, _caller: CallerDep, services: ServicesDep
) -> dict[str, Any]:
    """Price, generation plan and ETA of a submit, without submitting it."""
    endpoint = model(slug)
    parsed = await parse(request, endpoint, services)
    plan = eta_model.plan_for(services.settings, parsed.params)
    timing = await run_in_threadpool(eta, services, slug, parsed.params, plan)
    units = services.prices.units(endpoint, parsed.params)
    return {
        "model": slug,
        "price": to_credits(units),
        "params": parsed.params,
        "plan": plan.as_dict(),
        **timing,
    }
