"""Rules across fields, per the seed pages and DESIGN.md section 3."""

from __future__ import annotations

import pytest

from reelforge import endpoints
from reelforge.errors import BadRequest
from tests.endpoints.examples import FAMILY, MINIMAL

FAST_AT_8 = "motion_mode: 'fast' is only allowed with duration 5 (got duration 8)"
FAST_AT_1080 = "quality: 'fast' motion is not available at 1080p; use 360p, 540p or 720p"
EIGHT_AT_1080 = "duration: only 5 is allowed at 1080p quality (got 8)"


def check(slug: str, **fields: object) -> None:
    endpoints.get(slug).validate({**MINIMAL[slug], **fields})  # type: ignore[union-attr]


@pytest.mark.parametrize("slug", FAMILY)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"duration": 8, "motion_mode": "fast"}, FAST_AT_8),
        ({"motion_mode": "fast", "quality": "1080p"}, FAST_AT_1080),
        ({"duration": 8, "quality": "1080p"}, EIGHT_AT_1080),
        ({"duration": 8, "motion_mode": "fast", "quality": "1080p"}, FAST_AT_8),
    ],
)
def test_family_motion_rules(slug: str, fields: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check(slug, **fields)
    assert caught.value.message == message


@pytest.mark.parametrize("slug", FAMILY)
def test_family_allows_what_the_rules_leave(slug: str) -> None:
    check(slug, duration=5, motion_mode="fast", quality="720p")
    check(slug, duration=5, motion_mode="normal", quality="1080p")
    check(slug, duration=8, motion_mode="normal", quality="720p")


def test_v6_has_no_motion_rules() -> None:
    check("pixverse-v6", duration=15, motion_mode="fast", quality="1080p")


@pytest.mark.parametrize("slug", ["pixverse-5-video", "pixverse-5-transition"])
def test_lip_sync_needs_text(slug: str) -> None:
    for content in ({}, {"lip_sync_tts_content": "  "}):
        with pytest.raises(BadRequest) as caught:
            check(slug, lip_sync_switch=True, **content)
        assert caught.value.message == "lip_sync_tts_content: required when lip_sync_switch is true"
    check(slug, lip_sync_switch=True, lip_sync_tts_content="Hello there")
    check(slug, lip_sync_switch=False, lip_sync_tts_speaker_id="3")  # id without speech: unused


def test_extend_needs_a_video() -> None:
    with pytest.raises(BadRequest) as caught:
        endpoints.get("pixverse-5-extend").validate({"prompt": "horse race"})  # type: ignore[union-attr]
    assert caught.value.message == "video_url: required for pixverse-5-extend"


def test_transition_refuses_a_last_frame_alone() -> None:
    last = "https://example.com/last.png"
    with pytest.raises(BadRequest) as caught:
        check("pixverse-5-transition", last_frame_url=last)
    assert caught.value.message == "first_frame_url: required when last_frame_url is given"
    check("pixverse-5-transition", first_frame_url=last)
    check("pixverse-5-transition")
