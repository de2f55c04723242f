"""Structured progress from the engine's stage names, and the time each stage took."""

from __future__ import annotations

import pytest

from reelforge.worker.progress import StageClock, parse_stage


@pytest.mark.parametrize(
    ("stage", "parsed"),
    [
        ("denoising 3/8", ("denoising", 3, 8)),
        ("denoising 10/10", ("denoising", 10, 10)),
        ("encoding prompt", ("encoding prompt", None, None)),
        ("retrying after a full disk", ("retrying after a full disk", None, None)),
        ("stage 1 of 2", ("stage 1 of 2", None, None)),
    ],
)
def test_the_stage_is_split_from_its_step(stage, parsed):
    assert parse_stage(stage) == parsed


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_steps_are_timed_between_step_reports_and_stages_add_up():
    clock = FakeClock()
    stages = StageClock(clock)
    clock.now += 1.0
    assert stages.update(0.01, "fetching inputs").stage == "fetching inputs"
    clock.now += 2.0
    stages.update(0.02, "encoding prompt")
    clock.now += 3.0  # prompt encoding and the first step
    first = stages.update(0.1, "denoising 1/4")
    assert (first.stage, first.step, first.steps, first.step_seconds) == ("denoising", 1, 4, None)
    for step in (2, 3, 4):
        clock.now += 0.5
        report = stages.update(0.1 * step, f"denoising {step}/4")
    assert report.step == 4 and report.step_seconds == 0.5  # not skewed by the first
    clock.now += 1.5
    assert stages.update(0.9, "encoding mp4").step is None
    clock.now += 0.25
    measured = stages.timings()
    assert measured == {
        "fetching inputs": 2.0,
        "encoding prompt": 3.0,
        "denoising": 3.0,
        "encoding mp4": 0.25,
        "total": 9.25,  # from the claim, including the second before the first report
        "steps": 4.0,
        "step_seconds": 0.5,
    }


def test_a_single_step_is_timed_from_its_stage():
    clock = FakeClock()
    stages = StageClock(clock)
    stages.update(0.1, "denoising 1/1")
    clock.now += 2.0
    stages.update(0.9, "decoding")
    assert stages.timings()["step_seconds"] == 2.0
