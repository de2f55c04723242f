"""A clock that tests move by hand: what `JobQueue(clock=...)` reads instead of the
wall clock, so that a lease or a retention lapses at once instead of after a sleep."""

from __future__ import annotations

import threading
import time

TICK = 1e-6  # what each read moves the clock on


class ManualClock:
    """Epoch seconds that move only by `advance`, and by a microsecond at each read, as a
    real clock does between two calls: two jobs submitted in a row keep their order
    (`created_at` orders the queue). Thread-safe."""

    def __init__(self, start: float | None = None):
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += TICK
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
