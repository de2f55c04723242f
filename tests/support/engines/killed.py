"""An engine that kills its own worker process half-way through generate (`os._exit`,
no cleanup: as the OOM killer or a segfault would). Only a real `reelforge worker`
process can run it.

The job stays PROCESSING until its lease runs out, then another worker claims it again;
once REELFORGE_MAX_ATTEMPTS claims have died, the next claim ends it FAILED ("the
worker running this job stopped responding N times; giving up"), credits released.
"""

from __future__ import annotations

import os

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine

EXIT_CODE = 77  # the worker process's exit status, so a test can tell this death apart


class KilledEngine(FakeEngine):
    name = "kills its worker (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        progress(0.5, "denoising 5/10")
        os._exit(EXIT_CODE)
