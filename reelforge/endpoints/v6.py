"""pixverse-v6: 1-15 s video from text or an image, native audio, prompt reasoning.

`generate_audio_switch` turns the model's own sound on or off; `thinking_type` maps onto
prompt enhancement (see `prompting.enhance_prompt` for what "auto" does). The page shows an
example image as image_url's default; it is an example, not a default: omitted = text to video.
No cross-field rules: the page documents none (fast is allowed at any duration and quality).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from reelforge.endpoints.base import Endpoint, Media, Params, exact_seconds, frames, image
from reelforge.endpoints.fields import (
    ImageUrl,
    IntRange,
    MotionMode,
    OneOf,
    OptionalText,
    Prompt,
    Quality,
    Switch,
)
from reelforge.endpoints.prompting import enhance_prompt
from reelforge.endpoints.sizes import V6_ASPECTS
from reelforge.task import FPS, GenerationTask


class V6Params(Params):
    prompt: Prompt
    duration: Annotated[int, IntRange(1, 15)] = 5
    quality: Quality = "540p"
    aspect_ratio: Annotated[str, OneOf(*V6_ASPECTS)] = "16:9"  # an image's own aspect wins
    generate_audio_switch: Switch = True
    image_url: ImageUrl | None = None
    motion_mode: MotionMode = "normal"
    negative_prompt: OptionalText = "No sudden movements, no fast zooms, no distortion."
    seed: Annotated[int, IntRange(0, 2_147_483_647)] | None = None
    thinking_type: Annotated[str, OneOf("enabled", "disabled", "auto")] = "auto"


class V6(Endpoint):
    slug = "pixverse-v6"
    media_fields = {"image_url": "image"}
    params_model = V6Params
    aspects = V6_ASPECTS

    def plan(self, params: Mapping[str, Any], media: Media) -> GenerationTask:
        first = image(media, "image_url") if params["image_url"] else None
        width, height = self.output_size(params, first)
        return GenerationTask(
            kind="image" if first is not None else "text",
            prompt=params["prompt"],
            negative_prompt=params["negative_prompt"],
            width=width,
            height=height,
            num_frames=frames(params["duration"]),
            seed=params["seed"],
            audio=params["generate_audio_switch"],
            fast=params["motion_mode"] == "fast",
            enhance_prompt=enhance_prompt(params["thinking_type"], params["prompt"]),
            # the OpenAI API's exact seconds: 24 n of the 24 n + 1 frames made
            output_frames=FPS * params["duration"] if exact_seconds(params) else None,
            images=(first,) if first is not None else (),
        )
