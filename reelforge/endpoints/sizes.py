"""Output sizes: the short side is the quality, the long side follows the aspect ratio.

    16:9 540p -> 960x540    16:9 1080p -> 1920x1080    9:16 720p -> 720x1280
    21:9 540p -> 1260x540   4:3 360p -> 480x360        1:1 720p -> 720x720

Both sides are even (video codecs need it). Engines pick their own internal size (LTX-2
wants multiples of 32) and the encoder scales to exactly this size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

# Every aspect ratio an endpoint accepts, as (width, height). The Pixverse 5 family and
# text2video accept the first five; v6 accepts all eight.
ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9),
    "4:3": (4, 3),
    "1:1": (1, 1),
    "3:4": (3, 4),
    "9:16": (9, 16),
    "2:3": (2, 3),
    "3:2": (3, 2),
    "21:9": (21, 9),
}
FAMILY_ASPECTS: tuple[str, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16")
V6_ASPECTS: tuple[str, ...] = tuple(ASPECT_RATIOS)

QUALITIES: tuple[str, ...] = ("360p", "540p", "720p", "1080p")


def _even(x: float) -> int:
    return max(2, 2 * round(x / 2))


def output_size(quality: str, aspect: str) -> tuple[int, int]:
    """(width, height) in pixels for a quality such as "540p" and an aspect such as "16:9"."""
    if quality not in QUALITIES:
        raise ValueError(f"unknown quality {quality!r}")
    if aspect not in ASPECT_RATIOS:
        raise ValueError(f"unknown aspect ratio {aspect!r}")
    short = int(quality.removesuffix("p"))
    w, h = ASPECT_RATIOS[aspect]
    if w >= h:
        return _even(short * w / h), short
    return short, _even(short * h / w)


class PictureSize(NamedTuple):
    """An input picture's size, from its header: a `source` for `output_size_for`."""

    width: int
    height: int


def output_size_for(
    quality: str, aspect: str, source: Any | None, allowed: Sequence[str]
) -> tuple[int, int]:
    """The output size: an input picture's (anything with .width and .height) own aspect
    wins over the requested one, snapped to the nearest aspect in `allowed`."""
    if source is not None:
        aspect = nearest_aspect(source.width, source.height, allowed)
    return output_size(quality, aspect)


def nearest_aspect(width: int, height: int, allowed: Sequence[str]) -> str:
    """The allowed aspect ratio closest to width:height (compared on a log scale, so 2:1 and
    1:2 are equally far from 1:1); ties go to the one listed first."""
    if width <= 0 or height <= 0:
        raise ValueError(f"not a picture size: {width}x{height}")
    target = math.log(width / height)

    def distance(name: str) -> float:
        w, h = ASPECT_RATIOS[name]
        return abs(math.log(w / h) - target)

    return min(allowed, key=distance)


def explicit_size(params: Mapping[str, Any]) -> tuple[int, int] | None:
    """The exact output size a job was given as `size` ("WIDTHxHEIGHT"), or None.

    Not a parameter of any endpoint (their schemas refuse it): the OpenAI Videos API
    (`reelforge.openai_api`) sets it after validation, since its sizes (1024x1792, ...)
    are not a quality x aspect ratio of the table above."""
    size = params.get("size")
    if not isinstance(size, str):
        return None
    width, _, height = size.partition("x")
    return int(width), int(height)
