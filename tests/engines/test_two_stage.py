"""The two-stage distilled path on a tiny distilled checkpoint with its tiny latent
upsampler, for every kind: half size with 8 sigmas (and the task's conditions), latents
x2, 3 refining sigmas at full size; exactly the shapes and passes `planning` plans (and
the estimate answers)."""

from __future__ import annotations

import pytest

from reelforge.engines import planning, schedule
from reelforge.engines.ltx2 import LTX2Engine
from reelforge.settings import Settings
from reelforge.task import GenerationTask


@pytest.fixture(scope="module")
def engine(tiny_distilled_checkpoint, tmp_path_factory) -> LTX2Engine:
    data_dir = tmp_path_factory.mktemp("data")
    return LTX2Engine(Settings(checkpoint=str(tiny_distilled_checkpoint), data_dir=data_dir))


def run(engine: LTX2Engine, fast: bool):
    """(clip, progress stages, video tokens of each transformer call, upsampler calls)."""
    tokens: list[int] = []
    upsampled: list[tuple[int, ...]] = []
    transformer, upsampler = engine.text_pipe.transformer, engine.upsampler
    hooks = [
        transformer.register_forward_pre_hook(
            lambda module, args, kwargs: tokens.append(kwargs["hidden_states"].shape[1]),
            with_kwargs=True,
        ),
        upsampler.register_forward_hook(
            lambda module, args, output: upsampled.append(tuple(output.shape))
        ),
    ]
    stages: list[str] = []
    task = GenerationTask(kind="text", prompt="a fox", negative_prompt="", width=256,
                          height=128, num_frames=17, seed=5, audio=True, fast=fast)  # fmt: skip
    try:
        clip = engine.generate(task, lambda fraction, stage: stages.append(stage), lambda: False)
    finally:
        for hook in hooks:
            hook.remove()
    return clip, stages, tokens, upsampled


def test_fast_runs_half_size_then_x2_latents_then_three_sigmas(engine):
    assert engine.upsampler is not None and engine.schedule.distilled
    clip, stages, tokens, upsampled = run(engine, fast=True)
    plan = planning.plan_task("text", 256, 128, 17, True, engine.schedule, two_stage=True)
    first, second = plan.stages
    assert tokens == [first.video_tokens] * 8 + [second.video_tokens] * 3  # 24 then 96
    assert upsampled == [(1, 8, *second.latent)]
    assert clip.frames.shape == (17, plan.height, plan.width, 3) == (17, 128, 256, 3)
    assert clip.audio is not None and clip.audio.shape[0] == 2
    denoising = [stage for stage in stages if stage.startswith("denoising")]
    assert denoising == [f"denoising {step}/11" for step in range(1, 12)]


def test_normal_motion_runs_the_single_stage_distilled_schedule(engine):
    clip, _, tokens, upsampled = run(engine, fast=False)
    plan = planning.plan_task("text", 256, 128, 17, False, engine.schedule)
    assert tokens == [plan.stages[0].video_tokens] * 8 and upsampled == []
    assert clip.frames.shape == (17, 128, 256, 3)


def test_normal_motion_runs_two_stages_from_the_size_that_allows_it(engine, monkeypatch):
    # the threshold is 720p (schedule.TWO_STAGE_MIN_SHORT_SIDE); this tiny task's 128 px
    # short side stands in for it, so that the engine's own decision is what is tested
    monkeypatch.setattr(schedule, "TWO_STAGE_MIN_SHORT_SIDE", 128)
    clip, _, tokens, upsampled = run(engine, fast=False)
    plan = planning.plan_task("text", 256, 128, 17, False, engine.schedule, two_stage=True)
    first, second = plan.stages
    assert tokens == [first.video_tokens] * 8 + [second.video_tokens] * 3
    assert len(upsampled) == 1 and clip.frames.shape == (17, 128, 256, 3)


def test_the_two_stage_rule():
    assert schedule.runs_two_stage(True, 640, 360)  # fast: always
    assert not schedule.runs_two_stage(False, 960, 540)  # 540p: half size is 270p
    assert schedule.runs_two_stage(False, 1280, 720) and schedule.runs_two_stage(False, 720, 1280)
    assert schedule.runs_two_stage(False, 1920, 1080)


@pytest.mark.parametrize("kind", ["image", "transition", "extend"])
def test_fast_runs_two_stages_for_every_kind(engine, kind):
    import numpy as np
    from PIL import Image

    from reelforge.task import Clip

    tokens: list[int] = []
    hook = engine.text_pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: tokens.append(kwargs["hidden_states"].shape[1]),
        with_kwargs=True,
    )
    picture = Image.new("RGB", (256, 128), (200, 40, 40))
    media: dict = {
        "image": {"images": (picture,)},
        "transition": {"images": (picture, picture)},
        "extend": {"video": Clip(frames=np.zeros((25, 128, 256, 3), np.uint8), fps=24)},
    }[kind]
    new_frames = 16 if kind == "extend" else 17
    task = GenerationTask(kind=kind, prompt="a fox", negative_prompt="", width=256,
                          height=128, num_frames=new_frames, seed=5, audio=True, fast=True,
                          **media)  # fmt: skip
    try:
        clip = engine.generate(task, lambda fraction, stage: None, lambda: False)
    finally:
        hook.remove()
    plan = planning.plan_task(kind, 256, 128, new_frames, True, engine.schedule, two_stage=True)
    first, second = plan.stages
    assert tokens == [first.video_tokens] * 8 + [second.video_tokens] * 3
    if kind == "transition":  # the last frame's keyframe tokens in stage 1 only
        assert first.keyframe_tokens > 0 and second.keyframe_tokens == 0
    expected = 25 + 16 if kind == "extend" else 17
    assert clip.frames.shape[0] == expected and clip.audio is not None


def test_the_manifest_names_the_schedule_the_engine_ran(engine, tmp_path):
    from reelforge.worker.manifests import Manifests

    manifests = Manifests(Settings(data_dir=tmp_path), engine)
    planned = {}
    for fast in (False, True):
        task = GenerationTask(kind="text", prompt="a fox", negative_prompt="", width=256,
                              height=128, num_frames=17, seed=5, audio=True, fast=fast)  # fmt: skip
        planned[fast] = manifests.build(task)["plan"]["schedule"]
    assert planned == {False: "distilled", True: "two-stage distilled"}
