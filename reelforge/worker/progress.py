"""Structured progress from an engine's reports, and what each stage of a job took.

Engines report `progress(fraction, stage)` with stage names such as "encoding prompt" or
"denoising 3/8" (engines/base.py). `StageClock` turns each report into the stage alone
("denoising"), the step and the steps, and the measured seconds per step; it also times
every stage, for the fleet's means (jobs/timings.py) and the metrics.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

_STEP = re.compile(r"(?P<stage>.+?) (?P<step>\d+)/(?P<steps>\d+)")


@dataclass(frozen=True)
class Progress:
    fraction: float  # 0..1 of the whole job
    stage: str  # "fetching inputs", "encoding prompt", "denoising", "decoding", ...
    step: int | None = None  # denoising steps done
    steps: int | None = None  # denoising steps in all
    step_seconds: float | None = None  # measured seconds per step so far


def parse_stage(stage: str) -> tuple[str, int | None, int | None]:
    """ "denoising 3/8" -> ("denoising", 3, 8); "decoding" -> ("decoding", None, None)."""
    match = _STEP.fullmatch(stage.strip())
    if match is None:
        return stage.strip(), None, None
    return match["stage"], int(match["step"]), int(match["steps"])


class StageClock:
    """Times the stages of one job, from its claim to its end."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.started = clock()
        self._stage: str | None = None
        self._stage_since = self.started
        self.seconds: dict[str, float] = {}  # stage -> seconds spent in it
        self._steps: int | None = None
        self._first_step: tuple[int, float] | None = None  # (step, when it was reported)
        self._step_seconds: float | None = None

    def update(self, fraction: float, stage: str) -> Progress:
        """Record a report; returns it as structured progress."""
        now = self._clock()
        name, step, steps = parse_stage(stage)
        self._enter(name, now)
        if step is not None and steps:
            self._steps = steps
            if self._first_step is None:
                self._first_step = (step, now)
            elif step > self._first_step[0]:  # between reports: excludes prompt encoding
                first, since = self._first_step
                self._step_seconds = (now - since) / (step - first)
        step_seconds = self._step_seconds if step is not None else None
        return Progress(fraction, name, step, steps, step_seconds)

    @property
    def stage(self) -> str | None:
        return self._stage

    def timings(self) -> dict[str, float]:
        """Seconds per stage so far, plus "total", and "steps" and "step_seconds" when
        the job denoised (the current stage is counted up to now)."""
        now = self._clock()
        spent = dict(self.seconds)
        if self._stage is not None:
            spent[self._stage] = spent.get(self._stage, 0.0) + now - self._stage_since
        result = {stage: round(seconds, 4) for stage, seconds in spent.items()}
        result["total"] = round(now - self.started, 4)
        if self._steps:
            result["steps"] = float(self._steps)
            if self._step_seconds is None and "denoising" in spent:
                self._step_seconds = spent["denoising"] / self._steps
            if self._step_seconds is not None:
                result["step_seconds"] = round(self._step_seconds, 4)
        return result

    def _enter(self, stage: str, now: float) -> None:
        if stage == self._stage:
            return
        if self._stage is not None:
            self.seconds[self._stage] = self.seconds.get(self._stage, 0.0) + now - self._stage_since
        self._stage, self._stage_since = stage, now
