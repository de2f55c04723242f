"""The price of a job in billing units: the default table, with the operator's overrides.

The default is `Endpoint.price` (credits per output megapixel-second, so roughly GPU
time; see endpoints/pricing.py). REELFORGE_PRICES overrides cells of a table
slug x quality x duration, as JSON (inline, or the path of a JSON file):

    {"pixverse-v6": {"1080p": {"5": 1.5, "*": 0.35}, "*": 0.08},
     "*": {"360p": 0.02}}

A number is credits per second of output; an object gives exact durations ("5") and
a per-second rate for the rest ("*"). "*" matches any slug or quality. Fast motion
costs FAST_FACTOR of the normal price, as in the default table. Cells not given keep
the default price.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reelforge.endpoints import Endpoint
from reelforge.endpoints.pricing import FAST_FACTOR
from reelforge.jobs.billing import to_units

Cell = float | dict[str, float]


class PriceTable:
    def __init__(self, spec: str | None = None):
        self.table = _parse(spec) if spec else {}

    def units(self, endpoint: Endpoint, params: Mapping[str, Any]) -> int:
        """What this job costs, in billing units (1/10000 credit)."""
        cell = self._cell(endpoint.slug, str(params.get("quality")))
        if cell is None:
            return to_units(endpoint.price(params))
        seconds = int(params["duration"])
        if isinstance(cell, dict):
            exact = cell.get(str(seconds))
            credits = exact if exact is not None else cell.get("*", 0.0) * seconds
        else:
            credits = cell * seconds
        if params.get("motion_mode") == "fast":
            credits *= FAST_FACTOR
        return to_units(credits)

    def _cell(self, slug: str, quality: str) -> Cell | None:
        for slug_key in (slug, "*"):
            row = self.table.get(slug_key, {})
            for quality_key in (quality, "*"):
                if quality_key in row:
                    return row[quality_key]
        return None


def _parse(spec: str) -> dict[str, dict[str, Cell]]:
    """The override table, checked at start: a malformed one stops the server, loudly."""
    text = spec if spec.lstrip().startswith("{") else Path(spec).read_text()
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"REELFORGE_PRICES is not valid JSON: {exc}") from None
    if not isinstance(table, dict):
        raise ValueError("REELFORGE_PRICES: expected {slug: {quality: price}}")
    for slug, row in table.items():
        if not isinstance(row, dict):
            raise ValueError(f"REELFORGE_PRICES[{slug!r}]: expected {{quality: price}}")
        for quality, cell in row.items():
            where = f"REELFORGE_PRICES[{slug!r}][{quality!r}]"
            values = cell.values() if isinstance(cell, dict) else [cell]
            if not all(isinstance(v, int | float) and v >= 0 for v in values):
                raise ValueError(f"{where}: prices are non-negative numbers of credits")
    return table
