"""An engine whose audio track lasts half as long as its frames (the right number of
frames). The worker checks the clip against the task: the job ends FAILED saying how
long the audio and the video were, instead of COMPLETED with silence padded on."""

from __future__ import annotations

from dataclasses import replace

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine


class ShortAudioEngine(FakeEngine):
    name = "audio half as long as the video (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        clip = super().generate(task, progress, cancelled)
        assert clip.audio is not None, "give it a task with audio"
        return replace(clip, audio=clip.audio[:, : clip.audio.shape[1] // 2])
