"""pixverse-5-video: image (or text) to video, with sound effects and lip-synced speech."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from reelforge.endpoints.base import Endpoint, Media, Params, frames, image
from reelforge.endpoints.fields import (
    DEFAULT_NEGATIVE_PROMPT,
    FamilyAspect,
    FamilyDuration,
    ImageUrl,
    IntRange,
    MotionMode,
    OptionalText,
    Prompt,
    Quality,
    SpeakerId,
    Style,
    Switch,
    lip_sync_rules,
    motion_rules,
)
from reelforge.endpoints.prompting import compose_from
from reelforge.endpoints.sizes import FAMILY_ASPECTS
from reelforge.task import GenerationTask


class VideoParams(Params):
    prompt: Prompt
    duration: FamilyDuration = 5
    motion_mode: MotionMode = "normal"
    quality: Quality = "540p"
    aspect_ratio: FamilyAspect = "16:9"  # ignored when image_url is given: the image's wins
    image_url: ImageUrl | None = None
    lip_sync_switch: Switch = False
    lip_sync_tts_content: OptionalText | None = None
    lip_sync_tts_speaker_id: SpeakerId | None = None  # None = "auto"
    negative_prompt: OptionalText = DEFAULT_NEGATIVE_PROMPT
    # the page gives no range: accept the upstream int32 range, as v6 documents it
    seed: Annotated[int, IntRange(0, 2_147_483_647)] | None = None
    sound_effect_content: OptionalText | None = None
    sound_effect_switch: Switch = True
    style: Style | None = None


class Video(Endpoint):
    slug = "pixverse-5-video"
    media_fields = {"image_url": "image"}
    params_model = VideoParams
    aspects = FAMILY_ASPECTS
    rules = (motion_rules, lip_sync_rules)

    def plan(self, params: Mapping[str, Any], media: Media) -> GenerationTask:
        first = image(media, "image_url") if params["image_url"] else None
        width, height = self.output_size(params, first)
        return GenerationTask(
            kind="image" if first is not None else "text",
            prompt=compose_from(params),
            negative_prompt=params["negative_prompt"],
            width=width,
            height=height,
            num_frames=frames(params["duration"]),
            seed=params["seed"],
            audio=params["sound_effect_switch"] or params["lip_sync_switch"],
            fast=params["motion_mode"] == "fast",
            images=(first,) if first is not None else (),
        )
