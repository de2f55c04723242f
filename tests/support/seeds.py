"""The example payload of every seed page (shared/seeds/), media URLs swapped for
local ones, and what a user expects back from each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXTEND_INPUT_FRAMES = 48  # the 2 s, 24 fps input video the extend payload continues


def payloads(url: Callable[[str], str]) -> dict[str, dict[str, Any]]:
    return {
        "pixverse-text2video": {
            "aspect_ratio": "16:9",
            "duration": 5,
            "prompt": "Above the storm-lashed clouds, two ancient deities hover.",
            "negative_prompt": "No sudden movements, no fast zooms.",
            "quality": "540p",
            "motion_mode": "normal",
            "seed": 56698,
        },
        "pixverse-5-video": {
            "image_url": url("input.png"),
            "duration": 5,
            "prompt": "A teenage girl sitting on a rooftop at sunset, holding a guitar.",
            "negative_prompt": "No sudden movements, no fast zooms.",
            "quality": "540p",
            "seed": 56698,
            "motion_mode": "normal",
            "aspect_ratio": "16:9",
            "sound_effect_switch": True,
            "lip_sync_switch": False,
        },
        "pixverse-5-transition": {
            "first_frame_url": url("input.png"),
            "last_frame_url": url("last.png"),
            "duration": 5,
            "prompt": "Create a slow rotation transition of the woman as she speaks on the stage.",
            "quality": "540p",
            "seed": 12345,
            "motion_mode": "normal",
            "sound_effect_content": "Soft ambient sounds of a rainforest with distant bird calls.",
            "sound_effect_switch": True,
            "lip_sync_switch": False,
        },
        "pixverse-5-extend": {
            "video_url": url("input.mp4"),
            "duration": 5,
            "prompt": "horse race",
            "negative_prompt": "No sudden movements, no fast zooms.",
            "quality": "540p",
            "seed": 56698,
            "motion_mode": "normal",
        },
        "pixverse-v6": {
            "prompt": "A cinematic shot of a woman in a flowing red dress walking through a street",
            "image_url": url("input.png"),
            "negative_prompt": "No sudden movements, no fast zooms, no distortion.",
            "duration": 5,
            "quality": "540p",
            "aspect_ratio": "16:9",
            "motion_mode": "normal",
            "generate_audio_switch": True,
            "thinking_type": "auto",
        },
    }


# slug -> (width, height, frame count, has audio) for the payloads above
EXPECTED = {
    "pixverse-text2video": (960, 540, 121, False),
    "pixverse-5-video": (960, 540, 121, True),
    "pixverse-5-transition": (960, 540, 121, True),
    "pixverse-5-extend": (960, 540, EXTEND_INPUT_FRAMES + 120, True),
    "pixverse-v6": (960, 540, 121, True),
}
