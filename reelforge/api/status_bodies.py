"""The /status bodies rendered a moment ago, as the bytes sent, kept by everything they
are made of (`api/status.body_key`): a job polled thousands of times a second between
two of its writes is rendered and JSON-encoded once. Bounded: when full it starts over."""

from __future__ import annotations

from collections.abc import Hashable

KEPT = 4096  # bodies; each is a few hundred bytes


class StatusBodies:
    def __init__(self, size: int = KEPT):
        self.size = size
        self._bodies: dict[Hashable, bytes] = {}

    def get(self, key: Hashable) -> bytes | None:
        return self._bodies.get(key)

    def put(self, key: Hashable, body: bytes) -> None:
        if len(self._bodies) >= self.size:
            self._bodies.clear()
        self._bodies[key] = body
