"""`Endpoint.plan`: validated params + decoded media -> a fully resolved GenerationTask."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reelforge import endpoints
from reelforge.endpoints.prompting import VOICES
from reelforge.errors import BadRequest
from reelforge.task import Clip, GenerationTask
from tests.endpoints.examples import MINIMAL, PAYLOADS

T2V, VIDEO, TRANSITION, EXTEND, V6 = endpoints.SLUGS
URL = "https://example.com/input.png"


def picture(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), (200, 100, 50))


def video(width: int, height: int, frames: int = 48) -> Clip:
    return Clip(frames=np.zeros((frames, height, width, 3), dtype=np.uint8), fps=24.0)


def plan(slug: str, media: dict[str, Any] | None = None, /, **fields: Any) -> GenerationTask:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    params = endpoint.validate({**MINIMAL[slug], **fields})
    params = json.loads(json.dumps(params))  # as the worker reads it back from the job row
    return endpoint.plan(params, media or {})


@pytest.mark.parametrize(
    ("slug", "media", "kind", "size", "audio"),
    [
        (T2V, {}, "text", (960, 540), False),
        (VIDEO, {"image_url": picture(1280, 720)}, "image", (960, 540), True),
        (
            TRANSITION,
            {"first_frame_url": picture(640, 360), "last_frame_url": picture(640, 360)},
            "transition",
            (960, 540),
            True,
        ),
        (EXTEND, {"video_url": video(256, 144)}, "extend", (960, 540), True),
        (V6, {"image_url": picture(1280, 720)}, "image", (960, 540), True),
    ],
)
def test_seed_page_examples_plan(
    slug: str, media: dict[str, Any], kind: str, size: tuple[int, int], audio: bool
) -> None:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    task = endpoint.plan(endpoint.validate(PAYLOADS[slug]), media)
    assert (task.kind, (task.width, task.height), task.audio) == (kind, size, audio)
    assert task.num_frames == (120 if slug == EXTEND else 121)
    assert task.output_frames is None  # every frame made is kept: 24 n + 1 (extend: all)
    assert task.prompt.startswith(PAYLOADS[slug]["prompt"].rstrip("."))
    assert task.fast is False and task.fps == 24
    if slug != V6:
        assert task.seed == PAYLOADS[slug]["seed"]


@pytest.mark.parametrize(
    ("slug", "fields", "size"),
    [
        (T2V, {"aspect_ratio": "16:9", "quality": "540p"}, (960, 540)),
        (T2V, {"aspect_ratio": "16:9", "quality": "1080p"}, (1920, 1080)),
        (T2V, {"aspect_ratio": "9:16", "quality": "720p"}, (720, 1280)),
        (VIDEO, {"aspect_ratio": "1:1", "quality": "360p"}, (360, 360)),
        (V6, {"aspect_ratio": "21:9", "quality": "540p"}, (1260, 540)),
        (V6, {"aspect_ratio": "2:3", "quality": "720p"}, (720, 1080)),
        (TRANSITION, {"quality": "720p"}, (1280, 720)),
    ],
)
def test_sizes_from_quality_and_aspect(
    slug: str, fields: dict[str, str], size: tuple[int, int]
) -> None:
    task = plan(slug, **fields)
    assert (task.width, task.height) == size
    assert task.kind == "text" and task.images == ()


@pytest.mark.parametrize(
    ("slug", "image_size", "size"),
    [
        (VIDEO, (600, 800), (540, 720)),  # 3:4 beats the requested 16:9
        (VIDEO, (1000, 990), (540, 540)),  # snapped to 1:1
        (VIDEO, (2100, 900), (960, 540)),  # 21:9 is not offered: nearest is 16:9
        (V6, (2100, 900), (1260, 540)),
        (V6, (600, 900), (540, 810)),
    ],
)
def test_input_image_aspect_wins_and_snaps(
    slug: str, image_size: tuple[int, int], size: tuple[int, int]
) -> None:
    first = picture(*image_size)
    task = plan(slug, {"image_url": first}, image_url=URL, aspect_ratio="16:9")
    assert (task.width, task.height) == size
    assert task.kind == "image" and task.images == (first,)


def test_transition_kind_follows_the_frames_given() -> None:
    first, last = picture(720, 960), picture(1280, 720)
    both = {"first_frame_url": first, "last_frame_url": last}
    task = plan(TRANSITION, both, first_frame_url=URL, last_frame_url=URL + "?2")
    assert (task.kind, task.images) == ("transition", (first, last))
    assert (task.width, task.height) == (540, 720)  # the first frame's aspect
    task = plan(TRANSITION, {"first_frame_url": first}, first_frame_url=URL)
    assert (task.kind, task.images) == ("image", (first,))
    task = plan(TRANSITION)
    assert (task.kind, task.images, task.width, task.height) == ("text", (), 960, 540)
    assert task.negative_prompt == ""


def test_extend_continues_the_input_at_its_aspect() -> None:
    clip = video(144, 256)
    task = plan(EXTEND, {"video_url": clip}, quality="720p", duration=8)
    assert task.video is clip
    assert (task.kind, task.width, task.height, task.num_frames) == ("extend", 720, 1280, 192)
    assert task.audio is True


@pytest.mark.parametrize(
    ("slug", "duration", "frames"),
    [
        (T2V, 5, 121),
        (T2V, 8, 193),
        (VIDEO, 8, 193),
        (TRANSITION, 8, 193),
        (V6, 1, 25),
        (V6, 7, 169),
        (V6, 15, 361),
    ],
)
def test_num_frames_is_24_per_second_plus_one(slug: str, duration: int, frames: int) -> None:
    task = plan(slug, duration=duration)
    assert task.num_frames == frames and (task.num_frames - 1) % 8 == 0
    assert task.output_frames is None  # the Pixverse endpoints keep them all


@pytest.mark.parametrize("slug", endpoints.SLUGS)
def test_no_client_may_ask_for_exact_seconds(slug: str) -> None:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    with pytest.raises(BadRequest, match="unknown parameter 'exact_seconds'"):
        endpoint.validate({**MINIMAL[slug], "exact_seconds": True})


def exact(slug: str, media: dict[str, Any], **after: Any) -> GenerationTask:
    """The plan of a job the OpenAI Videos API made: the minimal body validated, then
    `after` (an extension's new seconds) and `exact_seconds` set, as its routes do."""
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    params = {**endpoint.validate(MINIMAL[slug]), **after, "exact_seconds": True}
    return endpoint.plan(json.loads(json.dumps(params)), media)


@pytest.mark.parametrize(("duration", "kept"), [(1, 24), (4, 96), (12, 288), (15, 360)])
def test_exact_seconds_keep_24_per_second_of_the_24_n_plus_1_made(duration: int, kept: int) -> None:
    task = exact(V6, {}, duration=duration)
    assert (task.num_frames, task.output_frames) == (kept + 1, kept)


def test_an_exact_extension_keeps_the_input_as_retimed_then_the_new_frames() -> None:
    # 45 frames at 30 fps last 1.5 s: 36 at 24 fps, as the engines retime them; 4 s more
    thirty = Clip(frames=np.zeros((45, 144, 256, 3), dtype=np.uint8), fps=30.0)
    task = exact(EXTEND, {"video_url": thirty}, duration=4)
    assert (task.num_frames, task.output_frames) == (4 * 24, 36 + 4 * 24)
    task = exact(EXTEND, {"video_url": video(256, 144, frames=96)}, duration=20)
    assert (task.num_frames, task.output_frames) == (20 * 24, 96 + 20 * 24)


@pytest.mark.parametrize(
    ("slug", "fields", "audio"),
    [
        (T2V, {}, False),
        (VIDEO, {}, True),
        (VIDEO, {"sound_effect_switch": False}, False),
        (
            VIDEO,
            {"sound_effect_switch": False, "lip_sync_switch": True, "lip_sync_tts_content": "Hi"},
            True,
        ),
        (TRANSITION, {"sound_effect_switch": False}, False),
        (V6, {}, True),
        (V6, {"generate_audio_switch": False}, False),
    ],
)
def test_audio_flag(slug: str, fields: dict[str, Any], audio: bool) -> None:
    assert plan(slug, **fields).audio is audio


def test_fast_motion_flag() -> None:
    assert plan(T2V, motion_mode="fast").fast is True
    assert plan(V6, motion_mode="fast").fast is True
    assert plan(V6).fast is False


def test_prompt_is_kept_exactly_when_nothing_is_woven_in() -> None:
    assert plan(T2V, prompt="a cat on a sofa").prompt == "a cat on a sofa"
    assert plan(V6, prompt="a cat on a sofa").prompt == "a cat on a sofa"


def test_style_is_woven_into_the_prompt() -> None:
    prompt = plan(T2V, prompt="a cat", style="clay").prompt
    assert prompt.startswith("a cat. Visual style: claymation")
    assert plan(T2V, prompt="a cat", style="anime").prompt != prompt


def test_sound_effects_become_an_audio_description() -> None:
    assert plan(TRANSITION, prompt="a cat").prompt == (
        "a cat. Sound: Soft ambient sounds of a rainforest with distant bird calls."
    )
    prompt = plan(VIDEO, prompt="a cat", sound_effect_content="purring").prompt
    assert prompt == "a cat. Sound: purring."
    assert "Sound:" in plan(VIDEO, prompt="a cat").prompt  # on by default, generic text
    assert "Sound" not in plan(VIDEO, prompt="a cat", sound_effect_switch=False).prompt


def test_lip_sync_becomes_quoted_dialogue_with_the_speakers_voice() -> None:
    fields = {"sound_effect_switch": False, "lip_sync_switch": True}
    prompt = plan(VIDEO, prompt="a man", lip_sync_tts_content='Say "hi"', **fields).prompt
    assert prompt.startswith("a man. The character speaks")
    assert prompt.endswith(": \"Say 'hi'\"")
    assert VOICES["auto"] in prompt
    james = plan(
        VIDEO, prompt="a man", lip_sync_tts_content="Hello", lip_sync_tts_speaker_id="2", **fields
    ).prompt
    assert "James" in james and '"Hello"' in james


def test_every_speaker_has_a_distinct_voice() -> None:
    prompts = {
        plan(
            TRANSITION,
            lip_sync_switch=True,
            lip_sync_tts_content="Hello",
            lip_sync_tts_speaker_id=speaker,
        ).prompt
        for speaker in ["auto", *map(str, range(1, 15))]
    }
    assert len(prompts) == 15
    assert len(set(VOICES.values())) == 15
    names = ["Emily", "James", "Isabella", "Liam", "Chloe", "Adrian", "Harper", "Ava", "Sophia"]
    assert [VOICES[str(n)].split(",")[0] for n in range(1, 10)] == names


@pytest.mark.parametrize(
    ("thinking", "prompt", "enhance"),
    [
        ("enabled", "a cat", True),
        ("disabled", "a cat", False),
        ("auto", "a cat", True),
        ("auto", " ".join(["word"] * 24), True),
        ("auto", " ".join(["word"] * 25), False),
        ("enabled", " ".join(["word"] * 40), True),
    ],
)
def test_thinking_type_maps_to_prompt_enhancement(
    thinking: str, prompt: str, enhance: bool
) -> None:
    assert plan(V6, prompt=prompt, thinking_type=thinking).enhance_prompt is enhance


@pytest.mark.parametrize("slug", [T2V, VIDEO, TRANSITION])
def test_only_v6_enhances_prompts(slug: str) -> None:
    assert plan(slug, prompt="a cat").enhance_prompt is False
