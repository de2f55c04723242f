"""An engine that makes one frame fewer than the task asked for (its audio trimmed to
match, so only the frame count is wrong). The worker checks the clip against the task:
the job ends FAILED saying how many frames were expected and how many came, instead of
COMPLETED with a video of the wrong length."""

from __future__ import annotations

from dataclasses import replace

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine


class WrongFramesEngine(FakeEngine):
    name = "one frame short (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        clip = super().generate(task, progress, cancelled)
        frames = clip.frames[:-1]
        audio = clip.audio
        if audio is not None and clip.sample_rate:
            audio = audio[:, : round(len(frames) / clip.fps * clip.sample_rate)]
        return replace(clip, frames=frames, audio=audio)
