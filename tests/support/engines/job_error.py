"""An engine that refuses a task it cannot do with `reelforge.errors.JobError`: the job
ends FAILED with exactly that message, and its credits are released."""

from __future__ import annotations

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.errors import JobError
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine

MESSAGE = "this engine cannot draw lighthouses; try another prompt"


class JobErrorEngine(FakeEngine):
    name = "raises JobError (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        progress(0.2, "denoising 2/10")
        raise JobError(MESSAGE)
