"""An engine whose clip is slow to encode: its frames come out of an array that sleeps
REELFORGE_TEST_FRAME_SECONDS (default 0.2 s) each time the encoder takes the next frame,
so a test can catch the worker in its "encoding mp4" stage and kill it there.

The frames are the fake engine's, so a job finished by any other worker is the same video.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine


class SlowFrames(np.ndarray):
    """A (T, H, W, 3) array whose iteration (the encoder's frame loop) is slow."""

    seconds = 0.2

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self)):
            time.sleep(self.seconds)
            yield np.asarray(self[index])


class SlowEncodeEngine(FakeEngine):
    name = "slow to encode (tests/support/engines)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        clip = super().generate(task, progress, cancelled)
        SlowFrames.seconds = float(os.environ.get("REELFORGE_TEST_FRAME_SECONDS", "0.2"))
        return dataclasses.replace(clip, frames=clip.frames.view(SlowFrames))
