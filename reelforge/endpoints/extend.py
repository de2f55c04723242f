"""pixverse-5-extend: continue an input video.

The task asks for `duration` seconds of NEW frames (24 per second); the engine returns the
input followed by them, at the input's aspect (snapped to the nearest known ratio) and the
requested quality. The input's sound continues, so audio is always on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from reelforge.endpoints.base import Endpoint, Media, Params, clip, exact_seconds
from reelforge.endpoints.fields import (
    DEFAULT_NEGATIVE_PROMPT,
    FamilyDuration,
    IntRange,
    MotionMode,
    OptionalText,
    Prompt,
    Quality,
    Style,
    VideoUrl,
    motion_rules,
    rule,
    sent,
)
from reelforge.endpoints.prompting import compose_from
from reelforge.errors import BadRequest
from reelforge.media.conform import retimed_count
from reelforge.task import FPS, GenerationTask


class ExtendParams(Params):
    prompt: Prompt
    duration: FamilyDuration = 5
    motion_mode: MotionMode = "normal"
    quality: Quality = "540p"
    negative_prompt: OptionalText = DEFAULT_NEGATIVE_PROMPT
    seed: Annotated[int, IntRange(1, 999_999)] | None = None
    style: Style | None = None
    video_url: VideoUrl | None = None  # "optional" on the page, but there is nothing to extend


@rule(sent("video_url"))
def video_rules(params: Mapping[str, Any]) -> None:
    if not params["video_url"]:
        raise BadRequest("video_url: required for pixverse-5-extend")


class Extend(Endpoint):
    slug = "pixverse-5-extend"
    media_fields = {"video_url": "video"}
    params_model = ExtendParams
    rules = (video_rules, motion_rules)

    def plan(self, params: Mapping[str, Any], media: Media) -> GenerationTask:
        video = clip(media, "video_url")
        # no aspect_ratio parameter: the input video's own aspect, snapped
        width, height = self.output_size(params, video)
        new = FPS * params["duration"]
        output_frames = None
        if exact_seconds(params):
            # the input as the engine keeps it (retimed to 24 fps), then the 24 n new frames:
            # all the engine makes, so the trim only makes the sound exactly as long
            output_frames = retimed_count(len(video.frames), video.fps, FPS) + new
        return GenerationTask(
            kind="extend",
            prompt=compose_from(params),
            negative_prompt=params["negative_prompt"],
            width=width,
            height=height,
            num_frames=new,  # new frames only
            seed=params["seed"],
            audio=True,
            fast=params["motion_mode"] == "fast",
            output_frames=output_frames,
            video=video,
        )
