"""pixverse-5-transition: a video from a first frame to a last frame.

The page makes both frames optional. Both given -> a transition; only the first -> an
image-to-video from it; neither -> text to video. Only the last is refused at validation:
a video that merely ends on a picture is not what the hosted API makes either (its upstream
needs both), and the task contract has no "last frame only" shape.
The output takes the first frame's aspect (snapped to the nearest known ratio), else 16:9.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from reelforge.endpoints.base import Endpoint, Media, Params, frames, image
from reelforge.endpoints.fields import (
    FamilyDuration,
    ImageUrl,
    IntRange,
    MotionMode,
    OptionalText,
    Prompt,
    Quality,
    SpeakerId,
    Switch,
    lip_sync_rules,
    motion_rules,
    rule,
    sent,
)
from reelforge.endpoints.prompting import compose_from
from reelforge.errors import BadRequest
from reelforge.task import GenerationTask

DEFAULT_SOUND = "Soft ambient sounds of a rainforest with distant bird calls."


class TransitionParams(Params):
    prompt: Prompt
    duration: FamilyDuration = 5
    motion_mode: MotionMode = "normal"
    quality: Quality = "540p"
    first_frame_url: ImageUrl | None = None
    last_frame_url: ImageUrl | None = None
    lip_sync_switch: Switch = False
    lip_sync_tts_content: OptionalText | None = None
    lip_sync_tts_speaker_id: SpeakerId | None = None  # None = "auto"
    seed: Annotated[int, IntRange(1, 999_999)] = 12345
    sound_effect_content: OptionalText = DEFAULT_SOUND
    sound_effect_switch: Switch = True


@rule({"if": sent("last_frame_url"), "then": sent("first_frame_url")})
def frame_rules(params: Mapping[str, Any]) -> None:
    if params["last_frame_url"] and not params["first_frame_url"]:
        raise BadRequest("first_frame_url: required when last_frame_url is given")


class Transition(Endpoint):
    slug = "pixverse-5-transition"
    media_fields = {"first_frame_url": "image", "last_frame_url": "image"}
    params_model = TransitionParams
    rules = (motion_rules, lip_sync_rules, frame_rules)

    def plan(self, params: Mapping[str, Any], media: Media) -> GenerationTask:
        images = tuple(
            image(media, field) for field in self.media_fields if params[field] is not None
        )
        first = images[0] if images else None
        width, height = self.output_size(params, first)
        return GenerationTask(
            kind=("text", "image", "transition")[len(images)],
            prompt=compose_from(params),
            negative_prompt="",  # the page has no negative_prompt
            width=width,
            height=height,
            num_frames=frames(params["duration"]),
            seed=params["seed"],
            audio=params["sound_effect_switch"] or params["lip_sync_switch"],
            fast=params["motion_mode"] == "fast",
            images=images,
        )
