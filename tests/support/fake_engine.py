"""A stand-in engine for wire-protocol tests: it makes frames and audio of exactly the
shape the task asks for, fast, so that API tests do not wait on a diffusion model.

It lives under tests/ on purpose: product code never fakes a pipeline. Set
REELFORGE_ENGINE=tests.support.fake_engine:FakeEngine (with the repo root on PYTHONPATH).
REELFORGE_FAKE_STEP_SECONDS slows each of its 10 "steps" down, for cancel/kill tests.
Its checkpoint identity is fixed (`IDENTITY`); REELFORGE_FAKE_CHECKPOINT names another
one, as a changed checkpoint would.
"""

from __future__ import annotations

import os
import time

import numpy as np

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.engines.identity import Identity
from reelforge.errors import Cancelled
from reelforge.media.conform import retime
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask

STEPS = 10
SAMPLE_RATE = 16000
IDENTITY = Identity("sha256:" + "f" * 64, "tests/support/fake_engine")  # fixed weights


class FakeEngine:
    name = "fake test engine (tests/support)"
    device = "cpu"

    def __init__(self, settings: Settings):
        self.step_seconds = float(os.environ.get("REELFORGE_FAKE_STEP_SECONDS", "0"))
        self.memory_bytes: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        other = os.environ.get("REELFORGE_FAKE_CHECKPOINT")
        self.identity = Identity(other, "tests/support/fake_engine") if other else IDENTITY

    def manifest_plan(self, task: GenerationTask) -> dict[str, object]:
        """How it runs `task`, for the manifest: its fixed steps at half the output size."""
        height, width = _size(task)
        return {
            "schedule": "fake",
            "steps": STEPS,
            "generation_size": {"width": width, "height": height},
        }

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        for step in range(STEPS):
            if cancelled():
                raise Cancelled("cancelled by request")
            progress((step + 1) / STEPS, f"denoising {step + 1}/{STEPS}")
            time.sleep(self.step_seconds)
        height, width = _size(task)
        rng = np.random.default_rng(task.seed)
        frames = np.empty((task.num_frames, height, width, 3), dtype=np.uint8)
        frames[:] = rng.integers(0, 255, size=3, dtype=np.uint8)
        frames[:, :, : width // 2] //= 2  # a visible edge, so frames are not all flat
        if task.kind == "extend":
            assert task.video is not None
            # the input at the task's rate, as the real engine retimes it
            prefix = _resize(retime(task.video.frames, task.video.fps, task.fps), height, width)
            frames = np.concatenate([prefix, frames])
        audio = None
        if task.audio:
            samples = round(frames.shape[0] / task.fps * SAMPLE_RATE)
            tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / SAMPLE_RATE)
            audio = np.stack([tone, tone]).astype(np.float32)
        return Clip(frames=frames, fps=task.fps, audio=audio, sample_rate=SAMPLE_RATE)


def _size(task: GenerationTask) -> tuple[int, int]:
    """A /32 size of the output's aspect, like a real engine, so encoding must scale."""
    height = max(64, round(task.height / 2 / 32) * 32)
    return height, max(64, round(height * task.width / task.height / 32) * 32)


def _resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.linspace(0, frames.shape[1] - 1, height).astype(int)
    cols = np.linspace(0, frames.shape[2] - 1, width).astype(int)
    return frames[:, rows][:, :, cols]
