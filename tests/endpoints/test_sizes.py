"""Output sizes: short side = quality, long side from the aspect, both even."""

from __future__ import annotations

import pytest

from reelforge.endpoints.sizes import (
    ASPECT_RATIOS,
    FAMILY_ASPECTS,
    QUALITIES,
    V6_ASPECTS,
    nearest_aspect,
    output_size,
)


@pytest.mark.parametrize(
    ("quality", "aspect", "size"),
    [
        ("540p", "16:9", (960, 540)),
        ("1080p", "16:9", (1920, 1080)),
        ("720p", "9:16", (720, 1280)),
        ("540p", "21:9", (1260, 540)),
        ("360p", "16:9", (640, 360)),
        ("720p", "16:9", (1280, 720)),
        ("360p", "4:3", (480, 360)),
        ("540p", "3:4", (540, 720)),
        ("720p", "1:1", (720, 720)),
        ("540p", "3:2", (810, 540)),
        ("1080p", "2:3", (1080, 1620)),
    ],
)
def test_known_sizes(quality: str, aspect: str, size: tuple[int, int]) -> None:
    assert output_size(quality, aspect) == size


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("aspect", list(ASPECT_RATIOS))
def test_every_size_is_even_with_the_quality_as_short_side(quality: str, aspect: str) -> None:
    width, height = output_size(quality, aspect)
    assert width % 2 == 0 and height % 2 == 0
    assert min(width, height) == int(quality[:-1])
    w, h = ASPECT_RATIOS[aspect]
    assert abs(width / height - w / h) < 0.01


def test_unknown_quality_or_aspect_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        output_size("480p", "16:9")
    with pytest.raises(ValueError):
        output_size("540p", "5:4")


@pytest.mark.parametrize(
    ("width", "height", "allowed", "aspect"),
    [
        (1920, 1080, FAMILY_ASPECTS, "16:9"),
        (1010, 560, FAMILY_ASPECTS, "16:9"),
        (600, 800, FAMILY_ASPECTS, "3:4"),
        (1000, 1000, FAMILY_ASPECTS, "1:1"),
        (1000, 990, FAMILY_ASPECTS, "1:1"),
        (2100, 900, FAMILY_ASPECTS, "16:9"),
        (2100, 900, V6_ASPECTS, "21:9"),
        (600, 900, FAMILY_ASPECTS, "3:4"),
        (600, 900, V6_ASPECTS, "2:3"),
        (100, 1000, FAMILY_ASPECTS, "9:16"),
        (640, 480, V6_ASPECTS, "4:3"),
    ],
)
def test_nearest_aspect(width: int, height: int, allowed: tuple[str, ...], aspect: str) -> None:
    assert nearest_aspect(width, height, allowed) == aspect


def test_nearest_aspect_refuses_an_empty_picture() -> None:
    with pytest.raises(ValueError):
        nearest_aspect(0, 100, FAMILY_ASPECTS)
