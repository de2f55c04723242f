"""An engine that hangs: it blocks in generate without reporting progress or checking
`cancelled()`, until the test calls `release()` (or for ten leases at most), and then
returns a well-formed clip, late.

Once its lease has run out unrenewed another worker takes the job over (attempt 2); the
late clip is then fenced off: the hung worker's finish changes nothing and its file is
deleted, so the user sees the job complete exactly once, charged once.
"""

from __future__ import annotations

import threading
import time

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine

MAX_LEASES = 10  # the longest it blocks, in leases (REELFORGE_LEASE_SECONDS)


class HangingEngine(FakeEngine):
    name = "hangs past the lease (tests/support/engines)"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.max_seconds = MAX_LEASES * settings.lease_seconds
        self.started = threading.Event()  # set once generate has begun to hang
        self._released = threading.Event()

    def release(self) -> None:
        """Let a hanging (or the next) generate return."""
        self._released.set()

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        self.started.set()
        deadline = time.monotonic() + self.max_seconds
        while not self._released.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)  # deaf to cancel requests and to the lost claim
        return super().generate(task, lambda *_: None, lambda: False)
