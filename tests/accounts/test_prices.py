"""The price table: defaults follow GPU time (Endpoint.price); overrides by slug x
quality x duration."""

from __future__ import annotations

import json

import pytest

from reelforge import endpoints
from reelforge.accounts.prices import PriceTable


def _units(table: PriceTable, slug: str, **body) -> int:
    endpoint = endpoints.get(slug)
    params = endpoint.validate({"prompt": "x", **body})
    return table.units(endpoint, params)


def test_default_is_the_endpoint_price():
    endpoint = endpoints.get("pixverse-v6")
    params = endpoint.validate({"prompt": "x"})
    assert PriceTable().units(endpoint, params) == round(endpoint.price(params) * 10_000)


def test_overrides_by_slug_quality_and_duration(tmp_path):
    spec = {
        "pixverse-v6": {"1080p": {"5": 1.5, "*": 0.35}, "*": 0.08},
        "*": {"360p": 0.02},
    }
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(spec))
    for table in (PriceTable(json.dumps(spec)), PriceTable(str(path))):
        assert _units(table, "pixverse-v6", quality="1080p", duration=5) == 15_000
        assert _units(table, "pixverse-v6", quality="1080p", duration=8) == 28_000
        assert _units(table, "pixverse-v6", quality="540p", duration=10) == 8_000
        assert _units(table, "pixverse-text2video", quality="360p", duration=8) == 1_600
        fast = _units(table, "pixverse-text2video", quality="360p", motion_mode="fast")
        assert fast == 500  # 5 s x 0.02, halved
        default = _units(PriceTable(), "pixverse-text2video", quality="720p")
        assert _units(table, "pixverse-text2video", quality="720p") == default


@pytest.mark.parametrize(
    ("spec", "message"),
    [("{nope", "not valid JSON"), ('{"x": 1}', "expected"), ('{"x": {"y": -1}}', "non-negative")],
)
def test_a_broken_table_stops_the_start(spec, message):
    with pytest.raises(ValueError, match=message):
        PriceTable(spec)
