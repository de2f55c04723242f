"""The seam between the worker and a model: one method, typed events back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from reelforge.task import Clip, GenerationTask

# progress(fraction in [0, 1], stage name such as "encoding prompt", "denoising 3/8")
ProgressFn = Callable[[float, str], None]
# cancelled() -> True once the job's owner asked to stop; engines check it every step
CancelledFn = Callable[[], bool]


class Engine(Protocol):
    """Turns a GenerationTask into a Clip.

    The returned clip is the whole output video: for `extend` it is the input video
    followed by the continuation. Frames may be at any size of the requested aspect;
    `media.encode_mp4` scales them to exactly task.width x task.height. Audio, when
    present, lasts as long as the frames.

    Raises `reelforge.errors.Cancelled` when `cancelled()` turned true, and
    `reelforge.errors.JobError` for a task it cannot do (the message reaches the user).
    """

    name: str  # short description for logs and /status, e.g. "ltx2 (tiny random checkpoint)"
    device: str  # where it runs, as torch names it: "cpu", "cuda:0", ...
    memory_bytes: int | None  # that device's total memory (GPU memory, or RAM for cpu)

    def generate(
        self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn
    ) -> Clip: ...
