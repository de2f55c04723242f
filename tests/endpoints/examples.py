"""Each seed page's exact example payload (shared/seeds/) and the params it must yield."""

from __future__ import annotations

from typing import Any

T2V_PROMPT = (
    "Above the storm-lashed clouds, two ancient deities hover, their golden and silver armor "
    "glinting in the ethereal light. Lightning cracks between them as they collide with godlike "
    "force, sending shockwaves across the heavens. A camera tilt follows their movement as they "
    "battle in midair—each strike carving fissures into the sky itself. The clouds swirl into a "
    "divine tempest, fragments of shattered celestial weapons raining down upon a mortal world "
    "that watches in terror. The scale is immense—wide, sweeping shots emphasize the sheer power "
    "of their conflict."
)
VIDEO_PROMPT = (
    "A teenage girl sitting on a rooftop at sunset, holding a guitar on her lap, golden light "
    "reflecting on her face, cinematic medium shot, soft wind moving her hair, ultra realistic "
    "details, atmosphere of youth, creativity, and inspiration."
)
V6_PROMPT = (
    "A cinematic shot of a beautiful woman in a flowing red dress walking gracefully through a "
    "sunlit European street, golden hour lighting, smooth camera movement"
)
S3 = "https://segmind-resources.s3.amazonaws.com/input/"
NEGATIVE = "No sudden movements, no fast zooms."
RAINFOREST = "Soft ambient sounds of a rainforest with distant bird calls."

PAYLOADS: dict[str, dict[str, Any]] = {
    "pixverse-text2video": {
        "aspect_ratio": "16:9",
        "duration": 5,
        "prompt": T2V_PROMPT,
        "negative_prompt": NEGATIVE,
        "quality": "540p",
        "motion_mode": "normal",
        "seed": 56698,
    },
    "pixverse-5-video": {
        "image_url": S3 + "c120a212-fd53-4801-89c5-d6ea76b07c7d-afa5eb25-9256-443a-bf91-"
        "d825872f1118.png",
        "duration": 5,
        "prompt": VIDEO_PROMPT,
        "negative_prompt": NEGATIVE,
        "quality": "540p",
        "seed": 56698,
        "motion_mode": "normal",
        "aspect_ratio": "16:9",
        "sound_effect_switch": True,
        "lip_sync_switch": False,
    },
    "pixverse-5-transition": {
        "first_frame_url": S3 + "e8e913ea-8f1e-4a95-a7c2-5da468aee277-kling-video-v1-pro-ai-"
        "avatar-input.png",
        "last_frame_url": S3 + "b01761bd-9c4f-474f-8ff6-bc473aa7151e-bbc05c1e-a408-4f5e-91a7-"
        "85a0f0953ffb.png",
        "duration": 5,
        "prompt": "Create a slow rotation transition of the woman as she speaks on the stage.",
        "quality": "540p",
        "seed": 12345,
        "motion_mode": "normal",
        "sound_effect_content": RAINFOREST,
        "sound_effect_switch": True,
        "lip_sync_switch": False,
    },
    "pixverse-5-extend": {
        "video_url": S3 + "a4f87ceb-6a9a-4861-8b9b-2c2f846090a7-33a2d4a1-c111-47c2-866e-"
        "2788a98bb055-15631ab4-3aaf-4e49-a433-c2c3b86f7938.mp4",
        "duration": 5,
        "prompt": "horse race",
        "negative_prompt": NEGATIVE,
        "quality": "540p",
        "seed": 56698,
        "motion_mode": "normal",
    },
    "pixverse-v6": {
        "prompt": V6_PROMPT,
        "image_url": S3 + "pixverse-v6-input.png",
        "negative_prompt": "No sudden movements, no fast zooms, no distortion.",
        "duration": 5,
        "quality": "540p",
        "aspect_ratio": "16:9",
        "motion_mode": "normal",
        "generate_audio_switch": True,
        "thinking_type": "auto",
    },
}

# The parameters each payload leaves out, as the page documents their defaults.
# (seed: the payload's own, except v6 whose example sends none: a random one.)
FILLED_IN: dict[str, dict[str, Any]] = {
    "pixverse-text2video": {"style": None},
    "pixverse-5-video": {
        "lip_sync_tts_content": None,
        "lip_sync_tts_speaker_id": None,
        "sound_effect_content": None,
        "style": None,
    },
    "pixverse-5-transition": {"lip_sync_tts_content": None, "lip_sync_tts_speaker_id": None},
    "pixverse-5-extend": {"style": None},
    "pixverse-v6": {},
}

# The smallest valid body per slug (extend cannot run without a video).
MINIMAL: dict[str, dict[str, Any]] = {
    "pixverse-text2video": {"prompt": "a cat"},
    "pixverse-5-video": {"prompt": "a cat"},
    "pixverse-5-transition": {"prompt": "a cat"},
    "pixverse-5-extend": {"prompt": "a cat", "video_url": "https://example.com/in.mp4"},
    "pixverse-v6": {"prompt": "a cat"},
}

# Everything a minimal body gets by default, seed aside (see SEEDS).
DEFAULTS: dict[str, dict[str, Any]] = {
    "pixverse-text2video": {
        "aspect_ratio": "16:9",
        "duration": 5,
        "motion_mode": "normal",
        "quality": "540p",
        "negative_prompt": NEGATIVE,
        "style": None,
    },
    "pixverse-5-video": {
        "duration": 5,
        "motion_mode": "normal",
        "quality": "540p",
        "aspect_ratio": "16:9",
        "image_url": None,
        "lip_sync_switch": False,
        "lip_sync_tts_content": None,
        "lip_sync_tts_speaker_id": None,
        "negative_prompt": NEGATIVE,
        "sound_effect_content": None,
        "sound_effect_switch": True,
        "style": None,
    },
    "pixverse-5-transition": {
        "duration": 5,
        "motion_mode": "normal",
        "quality": "540p",
        "first_frame_url": None,
        "last_frame_url": None,
        "lip_sync_switch": False,
        "lip_sync_tts_content": None,
        "lip_sync_tts_speaker_id": None,
        "sound_effect_content": RAINFOREST,
        "sound_effect_switch": True,
    },
    "pixverse-5-extend": {
        "duration": 5,
        "motion_mode": "normal",
        "quality": "540p",
        "negative_prompt": NEGATIVE,
        "style": None,
    },
    "pixverse-v6": {
        "duration": 5,
        "quality": "540p",
        "aspect_ratio": "16:9",
        "generate_audio_switch": True,
        "image_url": None,
        "motion_mode": "normal",
        "negative_prompt": "No sudden movements, no fast zooms, no distortion.",
        "thinking_type": "auto",
    },
}

# slug -> (lowest accepted seed, highest accepted seed, default seed or None for random)
SEEDS: dict[str, tuple[int, int, int | None]] = {
    "pixverse-text2video": (0, 2_147_483_647, None),
    "pixverse-5-video": (0, 2_147_483_647, None),
    "pixverse-5-transition": (1, 999_999, 12345),
    "pixverse-5-extend": (1, 999_999, None),
    "pixverse-v6": (0, 2_147_483_647, None),
}

FAMILY = ("pixverse-text2video", "pixverse-5-video", "pixverse-5-transition", "pixverse-5-extend")
