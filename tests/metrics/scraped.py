"""Reading a /metrics answer the way Prometheus does (prometheus_client.parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


class Scraped:
    """The samples of one scrape, looked up by sample name and labels."""

    def __init__(self, text: str):
        self.text = text
        self.samples: list[Sample] = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def matching(self, name: str, **labels: str) -> list[Sample]:
        """Samples named `name` whose labels include `labels`."""
        return [
            sample
            for sample in self.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the matching samples (0 when there are none: a counter or a
        histogram never touched is absent, and that means none)."""
        return sum(sample.value for sample in self.matching(name, **labels))
