"""The engine's plan against diffusers' own LTX-2 pipelines, full size, on the meta device.

For every endpoint, kind (text, image, transition, extend), quality and duration the API
accepts, the real pipeline (`LTX2Pipeline`, `LTX2ImageToVideoPipeline`,
`LTX2ConditionPipeline`) runs on full-size components built on `meta` up to its first
denoising step; its transformer is replaced by a stand-in that records what it is given.
The plan's latent shape, video and audio tokens and passes per step must be exactly that.
No weights exist (meta tensors have shapes only), so the whole module takes seconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
import torch.fx.experimental._config as fx_config
from PIL import Image

from reelforge import endpoints
from reelforge.endpoints.sizes import QUALITIES
from reelforge.engines import full_size, planning
from reelforge.engines.schedule import Schedule
from reelforge.engines.tiny import _tokenizer
from reelforge.errors import BadRequest
from reelforge.task import Clip, GenerationTask

GUIDED = Schedule(steps=30, fast_steps=10, distilled=False)
IMAGE = Image.new("RGB", (320, 180))  # 16:9
VIDEO = Clip(frames=np.zeros((25, 180, 320, 3), dtype=np.uint8), fps=24)
URL = "https://example.com/input"


class _FirstStepDone(Exception):
    pass


def allowed_tasks() -> Iterator[tuple[str, GenerationTask]]:
    """(slug, task) for every kind, quality and duration each endpoint accepts."""
    inputs: dict[str, list[dict[str, Any]]] = {
        "pixverse-text2video": [{}],
        "pixverse-5-video": [{}, {"image_url": URL}],
        "pixverse-5-transition": [{"first_frame_url": URL, "last_frame_url": URL}],
        "pixverse-5-extend": [{"video_url": URL}],
        "pixverse-v6": [{}, {"image_url": URL}],
    }
    for slug in endpoints.SLUGS:
        endpoint = endpoints.get(slug)
        assert endpoint is not None
        durations = range(1, 16) if slug == "pixverse-v6" else (5, 8)
        for extra, quality, duration in itertools.product(inputs[slug], QUALITIES, durations):
            body = {"prompt": "a fox", "quality": quality, "duration": duration, **extra}
            try:
                params = endpoint.validate(body)
            except BadRequest:
                continue  # a combination the API refuses (e.g. 8 s at 1080p)
            media = {field: VIDEO if field == "video_url" else IMAGE for field in extra}
            yield slug, endpoint.plan(params, media)


def test_every_endpoint_kind_quality_and_duration_is_covered():
    tasks = list(allowed_tasks())
    kinds = {task.kind for _, task in tasks}
    assert kinds == {"text", "image", "transition", "extend"}
    # v6: text and image x 4 qualities x 15 s; text2video, 5-video (text and image),
    # transition, extend: 4 x 2 durations less 8 s at 1080p
    assert len(tasks) == 2 * 4 * 15 + 5 * 7


@pytest.fixture(scope="module")
def pipelines() -> Iterator[dict[str, Any]]:
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        LTX2ConditionPipeline,
        LTX2ImageToVideoPipeline,
        LTX2Pipeline,
    )

    names = ("transformer", "connectors", "vae", "audio_vae", "vocoder")
    components = full_size.build_all("meta", torch.bfloat16, names=names)
    text = LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        tokenizer=_tokenizer(),
        text_encoder=None,  # prompt embeddings are given (Gemma's masks need real values)
        **components,
    )
    # the connectors see the same prompt shapes in every run: run them once
    connect = text.connectors.forward
    outputs: dict[tuple[Any, ...], Any] = {}

    def connectors(*args: Any, **kwargs: Any) -> Any:
        key = tuple(tuple(a.shape) for a in (*args, *kwargs.values()) if torch.is_tensor(a))
        if key not in outputs:
            outputs[key] = connect(*args, **kwargs)
        return outputs[key]

    text.connectors.forward = connectors
    image = LTX2ImageToVideoPipeline.from_pipe(text, dtype=torch.bfloat16)
    condition = LTX2ConditionPipeline.from_pipe(text, dtype=torch.bfloat16)
    for pipe in (text, image, condition):
        pipe.set_progress_bar_config(disable=True)
    previous = fx_config.meta_nonzero_assume_all_nonzero
    fx_config.meta_nonzero_assume_all_nonzero = True  # condition masks on meta
    yield {"text": text, "image": image, "condition": condition}
    fx_config.meta_nonzero_assume_all_nonzero = previous


def first_step(pipe: Any, task: GenerationTask, width: int, height: int, frames: int):
    """The transformer calls of the pipeline's first denoising step, as (video shape,
    audio shape, keyword sizes)."""
    from diffusers.pipelines.ltx2 import LTX2VideoCondition

    calls: list[dict[str, Any]] = []

    def transformer(hidden_states, audio_hidden_states, **kwargs):
        calls.append(
            {
                "video": tuple(hidden_states.shape),
                "audio": tuple(audio_hidden_states.shape),
                "latent": (kwargs["num_frames"], kwargs["height"], kwargs["width"]),
                "audio_frames": kwargs["audio_num_frames"],
            }
        )
        return torch.empty_like(hidden_states), torch.empty_like(audio_hidden_states)

    def step(*args, **kwargs):
        raise _FirstStepDone  # every pass of the first step has run

    frame = Image.new("RGB", (width, height))
    extra: dict[str, Any] = {}
    if task.kind == "image":
        extra = {"image": frame}
    elif task.kind == "transition":
        extra = {
            "conditions": [
                LTX2VideoCondition(frames=frame, index=0),
                LTX2VideoCondition(frames=frame, index=-1),
            ]
        }
    elif task.kind == "extend":
        prefix = [frame] * planning.EXTEND_PREFIX_FRAMES
        extra = {"conditions": [LTX2VideoCondition(frames=prefix, index=0)]}
    embeds = torch.empty(1, planning.TEXT_TOKENS, 3840 * 49, device="meta", dtype=torch.bfloat16)
    mask = torch.ones(1, planning.TEXT_TOKENS, device="meta", dtype=torch.int64)
    original_forward, original_step = pipe.transformer.forward, pipe.scheduler.step
    pipe.transformer.forward, pipe.scheduler.step = transformer, step
    try:
        pipe(
            prompt_embeds=embeds,
            negative_prompt_embeds=embeds,
            prompt_attention_mask=mask,
            negative_prompt_attention_mask=mask,
            width=width,
            height=height,
            num_frames=frames,
            frame_rate=24.0,
            num_inference_steps=GUIDED.steps,
            output_type="latent",
            **extra,
        )
    except _FirstStepDone:
        pass
    finally:
        pipe.transformer.forward, pipe.scheduler.step = original_forward, original_step
    return calls


def distinct_tasks() -> dict[str, GenerationTask]:
    """One task per distinct (kind, output size, frames): endpoints that ask the same
    generation share a pipeline run."""
    tasks: dict[str, GenerationTask] = {}
    for _, task in allowed_tasks():
        tasks.setdefault(f"{task.kind}-{task.width}x{task.height}-{task.num_frames}f", task)
    return tasks


@pytest.mark.parametrize("task", distinct_tasks().values(), ids=distinct_tasks().keys())
def test_planned_shapes_are_what_the_pipeline_uses(pipelines, task):
    plan = planning.plan_task(task.kind, task.width, task.height, task.num_frames, False, GUIDED)
    (stage,) = plan.stages
    pipe = pipelines[{"text": "text", "image": "image"}.get(task.kind, "condition")]
    calls = first_step(pipe, task, plan.width, plan.height, plan.num_frames)
    assert calls, "the pipeline never reached its transformer"
    for call in calls:
        assert call["latent"] == stage.latent
        assert call["video"][1:] == (stage.video_tokens, 128)
        assert call["audio_frames"] == stage.audio_latent_frames
        assert call["audio"][1:] == (stage.audio_latent_frames, 128)
    assert sum(call["video"][0] for call in calls) == stage.passes_per_step == 4
    assert plan.width % 32 == 0 and plan.height % 32 == 0
    assert (plan.num_frames - 1) % 8 == 0


def test_planned_audio_samples_are_what_the_decoders_make():
    """The audio VAE and vocoder turn the planned audio latents into the planned samples
    within one video frame (the engine fits the track to exactly the frames' length)."""
    audio_vae = full_size.build("audio_vae")
    vocoder = full_size.build("vocoder")
    for frames in (121, 193, 361):
        plan = planning.plan_task("text", 960, 540, frames, False, GUIDED)
        latents = torch.empty(
            1, 8, plan.stages[0].audio_latent_frames, 16, device="meta", dtype=torch.bfloat16
        )
        with torch.no_grad():
            mel = audio_vae.decode(latents, return_dict=False)[0]
            waveform = vocoder(mel)
        assert plan.sample_rate == vocoder.config.output_sampling_rate == 24_000
        assert waveform.shape[1] == 2
        # the causal VAE decodes 4 x latents - 3 mel frames: 760 samples (32 ms) short of
        # the frames' duration, which the engine pads with silence (`ltx2_audio.fit_length`)
        assert 0 < plan.audio_samples - waveform.shape[-1] <= plan.sample_rate // 24


def test_two_stage_plan_matches_the_latent_upsampler():
    upsampler = full_size.build("latent_upsampler")
    distilled = Schedule(steps=8, fast_steps=8, distilled=True)
    plan = planning.plan_task("text", 960, 540, 121, True, distilled, two_stage=True)
    first, second = plan.stages
    assert (first.width, first.height) == (480, 288) and (plan.width, plan.height) == (960, 576)
    latents = torch.empty(1, 128, *first.latent, device="meta", dtype=torch.bfloat16)
    with torch.no_grad():
        upsampled = upsampler(latents)
    assert tuple(upsampled.shape[2:]) == second.latent
    assert (first.steps, second.steps, plan.passes) == (8, 3, 11)
