"""`Endpoint.validate`: the seed pages' tables, defaults, allowed values and wrong types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reelforge import endpoints
from reelforge.errors import BadRequest
from tests.endpoints.examples import DEFAULTS, FILLED_IN, MINIMAL, PAYLOADS, SEEDS

T2V, VIDEO, TRANSITION, EXTEND, V6 = endpoints.SLUGS
QUALITIES = ["360p", "540p", "720p", "1080p"]
FAMILY_ASPECTS = ["16:9", "4:3", "1:1", "3:4", "9:16"]
STYLES = ["anime", "3d_animation", "clay", "comic", "cyberpunk"]
SPEAKERS = ["auto"] + [str(n) for n in range(1, 15)]


def validate(slug: str, **fields: Any) -> dict[str, Any]:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    return endpoint.validate({**MINIMAL[slug], **fields})


PERCENT_ENCODE = (
    'percent-encode spaces, non-ASCII letters and the characters <>"{}|\\^` '
    "(and a % that starts no %XX escape)"
)


def rejects(slug: str, **fields: Any) -> str:
    with pytest.raises(BadRequest) as caught:
        validate(slug, **fields)
    return caught.value.message


def test_registry_serves_the_five_slugs() -> None:
    assert endpoints.SLUGS == (
        "pixverse-text2video",
        "pixverse-5-video",
        "pixverse-5-transition",
        "pixverse-5-extend",
        "pixverse-v6",
    )
    assert all(endpoints.get(slug).slug == slug for slug in endpoints.SLUGS)  # type: ignore[union-attr]
    assert endpoints.get("pixverse-7") is None


@pytest.mark.parametrize("slug", PAYLOADS)
def test_seed_page_example_validates_to_itself_plus_defaults(slug: str) -> None:
    params = endpoints.get(slug).validate(PAYLOADS[slug])  # type: ignore[union-attr]
    seed = params.pop("seed")
    expected = {**PAYLOADS[slug], **FILLED_IN[slug]}
    assert seed == expected.pop("seed", seed)
    assert params == expected
    json.dumps(params)


@pytest.mark.parametrize("slug", MINIMAL)
def test_every_documented_default_applies_when_omitted(slug: str) -> None:
    params = validate(slug)
    low, high, default = SEEDS[slug]
    seed = params.pop("seed")
    assert seed == default if default is not None else 1 <= seed <= 999_999
    assert params == {**MINIMAL[slug], **DEFAULTS[slug]}


@pytest.mark.parametrize("slug", MINIMAL)
def test_null_means_omitted_and_params_revalidate_unchanged(slug: str) -> None:
    nulls = {field: None for field in DEFAULTS[slug]}
    params = validate(slug, **nulls)
    assert params == validate(slug, seed=params["seed"])
    assert endpoints.get(slug).validate(params) == params  # type: ignore[union-attr]


CHOICES = [
    (T2V, "aspect_ratio", FAMILY_ASPECTS, "21:9"),
    (T2V, "duration", [5, 8], 6),
    (T2V, "motion_mode", ["normal", "fast"], "slow"),
    (T2V, "quality", QUALITIES, "480p"),
    (T2V, "style", STYLES, "oil"),
    (VIDEO, "aspect_ratio", FAMILY_ASPECTS, "2:3"),
    (VIDEO, "duration", [5, 8], 10),
    (VIDEO, "motion_mode", ["normal", "fast"], "turbo"),
    (VIDEO, "quality", QUALITIES, "540P"),
    (VIDEO, "style", STYLES, "Anime"),
    (VIDEO, "lip_sync_tts_speaker_id", SPEAKERS, "15"),
    (TRANSITION, "duration", [5, 8], 1),
    (TRANSITION, "motion_mode", ["normal", "fast"], "slow"),
    (TRANSITION, "quality", QUALITIES, "4k"),
    (TRANSITION, "lip_sync_tts_speaker_id", SPEAKERS, "0"),
    (EXTEND, "duration", [5, 8], 15),
    (EXTEND, "motion_mode", ["normal", "fast"], "slow"),
    (EXTEND, "quality", QUALITIES, "2160p"),
    (EXTEND, "style", STYLES, "watercolor"),
    (V6, "aspect_ratio", [*FAMILY_ASPECTS, "2:3", "3:2", "21:9"], "5:4"),
    (V6, "motion_mode", ["normal", "fast"], "slow"),
    (V6, "quality", QUALITIES, "240p"),
    (V6, "thinking_type", ["enabled", "disabled", "auto"], "deep"),
]


@pytest.mark.parametrize(("slug", "field", "allowed", "wrong"), CHOICES)
def test_every_allowed_value_is_accepted_and_a_wrong_one_named(
    slug: str, field: str, allowed: list[Any], wrong: Any
) -> None:
    for value in allowed:
        assert validate(slug, **{field: value})[field] == value
    listed = ", ".join(repr(value) for value in allowed)
    assert rejects(slug, **{field: wrong}) == (f"{field}: must be one of {listed} (got {wrong!r})")


def test_v6_duration_is_any_whole_second_from_1_to_15() -> None:
    for seconds in range(1, 16):
        assert validate(V6, duration=seconds)["duration"] == seconds
    for wrong in (0, 16, 5.5):
        assert (
            rejects(V6, duration=wrong)
            == f"duration: must be an integer from 1 to 15 (got {wrong})"
        )


@pytest.mark.parametrize("slug", SEEDS)
def test_seed_range_per_page(slug: str) -> None:
    low, high, _ = SEEDS[slug]
    assert validate(slug, seed=low)["seed"] == low
    assert validate(slug, seed=high)["seed"] == high
    for wrong in (low - 1, high + 1):
        assert rejects(slug, seed=wrong) == (
            f"seed: must be an integer from {low} to {high} (got {wrong})"
        )


@pytest.mark.parametrize("slug", [T2V, VIDEO, EXTEND, V6])
def test_omitted_seed_is_random_and_reported(slug: str) -> None:
    seeds = {validate(slug)["seed"] for _ in range(20)}
    assert len(seeds) > 1
    assert all(1 <= seed <= 999_999 for seed in seeds)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("duration", "8", 8),
        ("duration", 8.0, 8),
        ("duration", " 5 ", 5),
        ("seed", "42", 42),
        ("sound_effect_switch", "false", False),
        ("sound_effect_switch", "TRUE", True),
        ("sound_effect_switch", 0, False),
        ("lip_sync_switch", "false", False),
        ("negative_prompt", "", ""),
        ("prompt", "  a dog  ", "a dog"),
        ("image_url", "data:image/png;base64,iVBORw0KGgo=", "data:image/png;base64,iVBORw0KGgo="),
        ("image_url", "http://example.com/a.png", "http://example.com/a.png"),
    ],
)
def test_sensible_coercions(field: str, value: Any, expected: Any) -> None:
    assert validate(VIDEO, **{field: value})[field] == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration", True, "duration: must be one of 5, 8 (got true)"),
        ("duration", 5.5, "duration: must be one of 5, 8 (got 5.5)"),
        ("duration", "5.0", "duration: must be one of 5, 8 (got '5.0')"),
        ("duration", [5], "duration: must be one of 5, 8 (got [5])"),
        ("seed", True, "seed: must be an integer from 0 to 2147483647 (got true)"),
        ("seed", 1.5, "seed: must be an integer from 0 to 2147483647 (got 1.5)"),
        ("seed", "abc", "seed: must be an integer from 0 to 2147483647 (got 'abc')"),
        ("sound_effect_switch", "yes", "sound_effect_switch: must be true or false (got 'yes')"),
        ("sound_effect_switch", 2, "sound_effect_switch: must be true or false (got 2)"),
        ("prompt", 5, "prompt: must be a string (got 5)"),
        ("prompt", "   ", "prompt: must not be empty"),
        ("prompt", "x" * 5001, "prompt: must be at most 5000 characters (got 5001)"),
        ("negative_prompt", {"a": 1}, "negative_prompt: must be a string (got {'a': 1})"),
        ("sound_effect_content", 7, "sound_effect_content: must be a string (got 7)"),
        ("image_url", 42, "image_url: must be an http(s) or data: URL (got 42)"),
        ("image_url", "", "image_url: must be an http(s) or data: URL (got '')"),
        (
            "image_url",
            "ftp://h/a.png",
            "image_url: must be an http(s) or data: URL (got 'ftp://h/a.png')",
        ),
        ("image_url", "https://", "image_url: malformed URL 'https://'"),
        # what the schema's `format: uri` refuses (issue 21: the two must agree)
        *(
            ("image_url", url, f"image_url: malformed URL {url!r}: {PERCENT_ENCODE}")
            for url in ("https://N#%", "https://h/a b.png", "https://h/é.png", "https://h/<b>.png")
        ),
        (
            "image_url",
            "data:image/png",
            "image_url: malformed data: URL (expected data:<type>;base64,<data>)",
        ),
    ],
)
def test_wrong_types_name_the_field(field: str, value: Any, message: str) -> None:
    assert rejects(VIDEO, **{field: value}) == message


def test_prompt_is_required_and_capped() -> None:
    for slug in endpoints.SLUGS:
        with pytest.raises(BadRequest, match=r"^prompt: required$"):
            endpoints.get(slug).validate({})  # type: ignore[union-attr]
    assert len(validate(T2V, prompt="x" * 5000)["prompt"]) == 5000


@pytest.mark.parametrize("body", [[], "prompt", 5, None, True, [{"prompt": "x"}]])
def test_body_must_be_an_object(body: object) -> None:
    with pytest.raises(BadRequest, match=r"^request body must be a JSON object$"):
        endpoints.get(T2V).validate(body)  # type: ignore[union-attr]


def test_unknown_parameters_are_rejected_with_the_accepted_list() -> None:
    assert rejects(T2V, foo=1) == (
        "unknown parameter 'foo'; accepted: aspect_ratio, duration, motion_mode, "
        "negative_prompt, prompt, quality, seed, style"
    )
    assert rejects(V6, style="anime", promt="x").startswith("unknown parameters 'style', 'promt';")
    assert "unknown parameter 'negative_prompt'" in rejects(TRANSITION, negative_prompt="blur")
    assert "unknown parameter 'image_url'" in rejects(EXTEND, image_url="https://e.com/a.png")


def test_unknown_parameter_is_reported_before_a_missing_prompt() -> None:
    with pytest.raises(BadRequest, match=r"^unknown parameter 'promt'"):
        endpoints.get(V6).validate({"promt": "a cat"})  # type: ignore[union-attr]


def test_url_checker_is_injected_and_its_reason_names_the_field() -> None:
    calls: list[tuple[str, str]] = []

    def checker(url: str, kind: str) -> None:
        calls.append((url, kind))
        if "blocked" in url:
            raise ValueError("URL points to a private address")

    extend = endpoints.get(EXTEND)
    assert extend is not None
    extend.validate({"prompt": "go", "video_url": " https://ok/v.mp4 "}, url_checker=checker)
    assert calls == [("https://ok/v.mp4", "video")]
    with pytest.raises(BadRequest, match=r"^video_url: URL points to a private address$"):
        extend.validate({"prompt": "go", "video_url": "https://blocked/v.mp4"}, url_checker=checker)


def test_media_url_checker_uses_the_ingest_rules() -> None:
    pytest.importorskip("reelforge.media.ingest")
    checker = endpoints.media_url_checker(
        max_image_bytes=10, max_video_bytes=10_000, allow_private=False
    )
    video = endpoints.get(VIDEO)
    assert video is not None
    with pytest.raises(BadRequest, match=r"^image_url: "):
        video.validate({"prompt": "x", "image_url": "http://127.0.0.1/a.png"}, url_checker=checker)
    big = "data:image/png;base64," + "A" * 400
    with pytest.raises(BadRequest, match=r"^image_url: "):
        video.validate({"prompt": "x", "image_url": big}, url_checker=checker)
    video.validate({"prompt": "x", "image_url": "https://example.com/a.png"}, url_checker=checker)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prompt", "a\x00b", "prompt: must not contain the NUL character"),
        ("prompt", "a\ud800b", "prompt: must be valid Unicode text (unpaired surrogate)"),
        ("image_url", "https://e.com/\x00.png", "image_url: must not contain the NUL character"),
        ("seed", 10**5000, "seed: must be an integer from 0 to 2147483647 (got a number too large"),
        ("seed", "9" * 5000, "seed: must be an integer from 0 to 2147483647 (got '99999"),
    ],
    ids=["nul", "surrogate", "nul-in-url", "huge-int", "huge-digit-string"],
)
def test_values_a_database_or_printer_would_choke_on(field: str, value: Any, message: str) -> None:
    assert rejects(VIDEO, **{field: value}).startswith(message)
