"""An engine with a bug: RuntimeError half-way through generate, as a crashed library
(CUDA, a codec) raises. The job ends FAILED with "internal error while generating:
RuntimeError" (never the exception's own text), its credits are released, and the
worker goes on to the next job."""

from __future__ import annotations

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine

# internals a user must not see in the job's error
SECRET_DETAIL = "CUDA error: an illegal memory access was encountered at 0x7f3a"


class CrashingEngine(FakeEngine):
    name = "crashes in generate (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        progress(0.5, "denoising 5/10")
        raise RuntimeError(SECRET_DETAIL)
