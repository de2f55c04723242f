"""`Endpoint.price`: credits follow output pixels x seconds; fast is cheaper."""

from __future__ import annotations

import pytest

from reelforge import endpoints
from tests.endpoints.examples import MINIMAL, PAYLOADS


def price(slug: str, **fields: object) -> float:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    return endpoint.price(endpoint.validate({**MINIMAL[slug], **fields}))


@pytest.mark.parametrize("slug", PAYLOADS)
def test_seed_examples_cost_the_same_540p_5s_price(slug: str) -> None:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    assert endpoint.price(endpoint.validate(PAYLOADS[slug])) == pytest.approx(0.311, abs=1e-3)


def test_price_scales_with_pixels_and_seconds() -> None:
    base = price("pixverse-text2video")
    assert price("pixverse-text2video", quality="1080p") == pytest.approx(4 * base, rel=1e-3)
    assert price("pixverse-text2video", duration=8) == pytest.approx(8 / 5 * base, rel=1e-3)
    assert price("pixverse-v6", duration=15) == pytest.approx(3 * base, rel=1e-3)
    assert price("pixverse-v6", aspect_ratio="21:9") > base
    assert price("pixverse-text2video", quality="360p") < base


def test_fast_costs_half() -> None:
    base = price("pixverse-5-video")
    assert price("pixverse-5-video", motion_mode="fast") == pytest.approx(base / 2, rel=1e-3)


def test_extend_costs_the_new_seconds() -> None:
    assert price("pixverse-5-extend", duration=8) == price("pixverse-text2video", duration=8)
