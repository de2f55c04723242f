"""pixverse-text2video: text to video, silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from reelforge.endpoints.base import Endpoint, Media, Params, frames
from reelforge.endpoints.fields import (
    DEFAULT_NEGATIVE_PROMPT,
    FamilyAspect,
    FamilyDuration,
    IntRange,
    MotionMode,
    OptionalText,
    Prompt,
    Quality,
    Style,
    motion_rules,
)
from reelforge.endpoints.prompting import compose
from reelforge.endpoints.sizes import output_size
from reelforge.task import GenerationTask


class Text2VideoParams(Params):
    prompt: Prompt
    aspect_ratio: FamilyAspect = "16:9"
    duration: FamilyDuration = 5
    motion_mode: MotionMode = "normal"
    quality: Quality = "540p"
    negative_prompt: OptionalText = DEFAULT_NEGATIVE_PROMPT
    # the page gives no range: accept the upstream int32 range, as v6 documents it
    seed: Annotated[int, IntRange(0, 2_147_483_647)] | None = None
    style: Style | None = None


class Text2Video(Endpoint):
    slug = "pixverse-text2video"
    params_model = Text2VideoParams
    rules = (motion_rules,)

    def plan(self, params: Mapping[str, Any], media: Media) -> GenerationTask:
        width, height = output_size(params["quality"], params["aspect_ratio"])
        return GenerationTask(
            kind="text",
            prompt=compose(params["prompt"], style=params["style"]),
            negative_prompt=params["negative_prompt"],
            width=width,
            height=height,
            num_frames=frames(params["duration"]),
            seed=params["seed"],
            audio=False,  # the page has no audio parameters
            fast=params["motion_mode"] == "fast",
        )
