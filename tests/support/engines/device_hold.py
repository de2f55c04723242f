"""A stand-in for a GPU-bound engine: it holds "the device" REELFORGE_TEST_HOLD_SECONDS
(default 2 s) per job, sleeping as a worker waiting on CUDA kernels does (the GIL free,
the CPU idle), and appends each hold to REELFORGE_TEST_DEVICE_LOG as a JSON line
`{"start": ..., "end": ...}` (wall-clock seconds), so bench/pipeline.py can tell how much
of the wall time the device was busy.

Its frames are the fake engine's colours with a moving texture, so the encoder has real
work to do (flat frames would encode in no time).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.errors import Cancelled
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import STEPS, FakeEngine


class DeviceHoldEngine(FakeEngine):
    name = "holds the device (tests/support/engines)"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.hold = float(os.environ.get("REELFORGE_TEST_HOLD_SECONDS", "2"))
        self.log = os.environ.get("REELFORGE_TEST_DEVICE_LOG")

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        start = time.time()
        for step in range(STEPS):
            if cancelled():
                raise Cancelled("cancelled by request")
            time.sleep(self.hold / STEPS)
            progress((step + 1) / STEPS, f"denoising {step + 1}/{STEPS}")
        clip = super().generate(task, lambda *_: None, cancelled)
        end = time.time()
        if self.log:
            with open(self.log, "a") as out:
                out.write(json.dumps({"start": start, "end": end}) + "\n")
        frames = clip.frames
        _, height, width, _ = frames.shape
        y, x = np.mgrid[0:height, 0:width]
        texture = (40 * np.sin(x / 7.0) * np.cos(y / 5.0)).astype(np.int16)
        moving = np.empty_like(frames)
        for index in range(len(frames)):  # the texture drifts a pixel a frame
            shifted = np.roll(texture, index, axis=1)[..., None]
            moving[index] = np.clip(frames[index].astype(np.int16) + shifted, 0, 255)
        return Clip(frames=moving, fps=clip.fps, audio=clip.audio, sample_rate=clip.sample_rate)
