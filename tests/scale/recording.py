"""The fast test engine, plus a record of every run: one line `<pid> <seed>` appended to
REELFORGE_TEST_CLAIM_LOG each time `generate` starts. Scale tests give every job its own
seed, so the file says which worker process ran which job, and how many times.

Select it with REELFORGE_ENGINE=tests.scale.recording:RecordingEngine.
"""

from __future__ import annotations

import os

from reelforge.engines import CancelledFn, ProgressFn
from reelforge.task import Clip, GenerationTask
from tests.support.fake_engine import FakeEngine


class RecordingEngine(FakeEngine):
    name = "recording fake test engine (tests/scale)"

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        path = os.environ.get("REELFORGE_TEST_CLAIM_LOG")
        if path:
            # one short write on an O_APPEND descriptor: lines from processes never interleave
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{os.getpid()} {task.seed}\n".encode())
            finally:
                os.close(fd)
        return super().generate(task, progress, cancelled)


def read_runs(path: str | os.PathLike[str]) -> list[tuple[int, int]]:
    """(pid, seed) for every engine run recorded in `path`, in order."""
    if not os.path.exists(path):
        return []
    with open(path) as file:
        pairs = [line.split() for line in file if line.strip()]
    return [(int(pid), int(seed)) for pid, seed in pairs]
