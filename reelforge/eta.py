"""How long one job runs on this server, before and while it runs: the one model behind
the status route's `eta_seconds` (and the stream's) and the estimate route's.

A job's run is measured when the fleet has completed jobs of its model and size
(`jobs.timings`: the mean job time, corrected by the mean seconds per step for this
plan's step count), else it is the plan's TFLOP over REELFORGE_ESTIMATE_PEAK_TFLOPS x
REELFORGE_ESTIMATE_UTILISATION. `jobs.timings.eta_seconds` turns a run into the ETA of a
queued or running job.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from reelforge.endpoints.sizes import output_size
from reelforge.engines import planning, schedule
from reelforge.jobs import timings
from reelforge.settings import Settings
from reelforge.task import FPS


def task_shape(params: Mapping[str, Any]) -> tuple[str, int, int, int, bool]:
    """(kind, width, height, frames, fast) a submit of `params` generates. The aspect is
    the requested one (or 16:9): an input's own aspect is not known before it is
    downloaded."""
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
    return kind, width, height, frames, params.get("motion_mode") == "fast"


def plan_for(settings: Settings, params: Mapping[str, Any]) -> planning.Plan:
    """The plan a worker with this server's settings runs for `params`."""
    return _plan(_checkpoint_key(settings), *task_shape(params))


def run_seconds(
    settings: Settings, stats: timings.Stats | None, plan: planning.Plan
) -> tuple[float, dict[str, Any]]:
    """Seconds one run of `plan` takes, and what that figure was made from."""
    if stats is not None:
        run = stats.job_seconds
        if stats.step_seconds and stats.steps:  # this plan's steps at the measured rate
            run += (plan.steps - stats.steps) * stats.step_seconds
        basis = {"basis": "measured", "samples": stats.samples, "step_seconds": stats.step_seconds}
    else:
        run = plan.tflop / (settings.estimate_peak_tflops * settings.estimate_utilisation)
        basis = {
            "basis": "flops",
            "peak_tflops": settings.estimate_peak_tflops,
            "utilisation": settings.estimate_utilisation,
        }
    return max(0.0, run), basis


def job_run_seconds(
    settings: Settings, stats: timings.Stats | None, params: Mapping[str, Any]
) -> float | None:
    """`run_seconds` of a job's parameters (the status route: cached plans, no I/O); None
    for parameters no plan is made from (a job of a model without a quality or duration)."""
    try:
        plan = plan_for(settings, params)
    except (KeyError, TypeError, ValueError):
        return None
    return run_seconds(settings, stats, plan)[0]


_Key = tuple[str | None, int | None, int | None]
_schedules: dict[_Key, tuple[bool, schedule.Schedule]] = {}


def _checkpoint_key(settings: Settings) -> _Key:
    """The settings a plan depends on; the configured checkpoint is read once per key (its
    marker file): a checkpoint swapped under a running API is planned as the old one until
    the API restarts, as the workers, which load it once, run it."""
    key = (settings.checkpoint, settings.steps, settings.fast_steps)
    if key not in _schedules:
        checkpoint = schedule.configured_checkpoint(settings)
        _schedules[key] = (
            checkpoint.two_stage,
            schedule.Schedule.for_checkpoint(settings, checkpoint),
        )
    return key


@functools.lru_cache(maxsize=1024)
def _plan(
    key: _Key,
    kind: str,
    width: int,
    height: int,
    frames: int,
    fast: bool,
) -> planning.Plan:
    two_stage_capable, steps = _schedules[key]
    two_stage = two_stage_capable and schedule.runs_two_stage(fast, width, height)
    return planning.plan_task(kind, width, height, frames, fast, steps, two_stage=two_stage)
