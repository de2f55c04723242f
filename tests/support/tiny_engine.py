"""The fake engine for fuzzing: it makes only tiny videos and fails every bigger task at
once (the job ends FAILED), so that hundreds of fuzzed submits never queue minutes of
encoding ahead of a sync call. REELFORGE_ENGINE=tests.support.tiny_engine:TinyEngine."""

from __future__ import annotations

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.errors import JobError
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine

MAX_PIXELS = 640 * 360 * 49  # 360p, 2 s: a fraction of a second to encode


class TinyEngine(FakeEngine):
    name = "tiny-only fake test engine (tests/support)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        if task.width * task.height * task.num_frames > MAX_PIXELS:
            raise JobError(f"the fuzzing engine makes at most {MAX_PIXELS} pixels of video")
        return super().generate(task, progress, cancelled)
