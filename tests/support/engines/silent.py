"""An engine that drops the audio track the task asked for (the right frames). The worker
checks the clip against the task: the job ends FAILED saying audio was asked for, instead
of COMPLETED as a silent video the user did not order."""

from __future__ import annotations

from dataclasses import replace

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine


class SilentEngine(FakeEngine):
    name = "drops the audio it was asked for (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        clip = super().generate(task, progress, cancelled)
        return replace(clip, audio=None, sample_rate=None)
