"""POST /v2/{slug}/estimate: what a submit of this body would cost and plan, and when it
would be done on this server; no job, no charge.

Same body and the same 400s (and 404, 413) as `POST /v2/{slug}`, through the submit's own
parser (`submit_routes.parse`); any valid key may ask (no 403 for a key limited to other
models, no 406 for an account without credits: nothing is spent).

The ETA is the status route's model (`jobs.timings`): the jobs queued now, shared among
the live workers serving the model, then this job's own run. The run is measured when the
fleet has completed jobs of this model and size (its mean seconds per step x this plan's
steps, plus the rest of the measured job time), else the plan's TFLOP over
REELFORGE_ESTIMATE_PEAK_TFLOPS x REELFORGE_ESTIMATE_UTILISATION, stated in the answer.
With no live worker serving the model there is no ETA (`null`): nothing would run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from reelforge.api.deps import CallerDep, Services, ServicesDep
from reelforge.api.submit_routes import model, parse
from reelforge.endpoints.sizes import output_size
from reelforge.engines import planning, schedule
from reelforge.jobs import fleet, timings
from reelforge.jobs.billing import to_credits
from reelforge.task import FPS

router = APIRouter()


def task_shape(params: Mapping[str, Any]) -> tuple[str, int, int, int]:
    """(kind, width, height, frames) a submit of `params` will generate. The aspect is the
    requested one (or 16:9): an input's own aspect is not known before it is downloaded."""
    kind = "text"
    if params.get("video_url"):
        kind = "extend"
    elif params.get("first_frame_url") and params.get("last_frame_url"):
        kind = "transition"
    elif params.get("image_url") or params.get("first_frame_url"):
        kind = "image"
    width, height = output_size(params["quality"], params.get("aspect_ratio") or "16:9")
    seconds = int(params["duration"])
    frames = FPS * seconds if kind == "extend" else FPS * seconds + 1
    return kind, width, height, frames


def plan_for(services: Services, slug: str, params: Mapping[str, Any]) -> planning.Plan:
    """The plan a worker with this server's settings would run."""
    settings = services.settings
    checkpoint = schedule.configured_checkpoint(settings)
    steps = schedule.Schedule.for_checkpoint(settings, checkpoint)
    kind, width, height, frames = task_shape(params)
    fast = params.get("motion_mode") == "fast"
    two_stage = checkpoint.two_stage and fast  # as the engine runs it
    return planning.plan_task(kind, width, height, frames, fast, steps, two_stage=two_stage)


def eta(
    services: Services, slug: str, params: Mapping[str, Any], plan: planning.Plan
) -> dict[str, Any]:
    """`eta_seconds` and what it was made from (see the module docstring)."""
    settings = services.settings
    stats = services.timings.get(slug, timings.size_of(params))
    window = fleet.live_window(settings.heartbeat_seconds)
    workers = fleet.serving(services.db, window).get(slug, 0)
    ahead = sum(depth["QUEUED"] for depth in fleet.queue_depth(services.db).values())
    basis: dict[str, Any] = {"queued_ahead": ahead, "workers": workers}
    if stats is not None:
        run = stats.job_seconds
        if stats.step_seconds and stats.steps:  # this plan's steps at the measured rate
            run += (plan.steps - stats.steps) * stats.step_seconds
        basis.update(basis="measured", samples=stats.samples, step_seconds=stats.step_seconds)
    else:
        rate = settings.estimate_peak_tflops * settings.estimate_utilisation
        run = plan.tflop / rate
        basis.update(
            basis="flops",
            peak_tflops=settings.estimate_peak_tflops,
            utilisation=settings.estimate_utilisation,
        )
    basis["run_seconds"] = round(max(0.0, run), 1)
    seconds = timings.queued_seconds(max(0.0, run), ahead, workers) if workers else None
    return {"eta_seconds": None if seconds is None else round(seconds, 1), "eta": basis}


@router.post("/v2/{slug:model}/estimate", include_in_schema=False)
async def estimate(
    slug: str, request: Request, _caller: CallerDep, services: ServicesDep
) -> dict[str, Any]:
    """Price, generation plan and ETA of a submit, without submitting it."""
    endpoint = model(slug)
    parsed = await parse(request, endpoint, services)
    plan = plan_for(services, slug, parsed.params)
    timing = await run_in_threadpool(eta, services, slug, parsed.params, plan)
    units = services.prices.units(endpoint, parsed.params)
    return {
        "model": slug,
        "price": to_credits(units),
        "params": parsed.params,
        "plan": plan.as_dict(),
        **timing,
    }
