"""The Engine protocol as the worker reads it: what an engine says about its device reaches
the fleet as is, without the worker importing torch to find out."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask
from reelforge.worker.loop import describe
from tests.support.fake_engine import FakeEngine
from tests.support.server import REPO

WORKER_ID = "gpu-host-3:4242:0badc0de"


def test_the_fake_engine_runs_on_the_cpu_with_the_machines_ram(tmp_path) -> None:
    engine = FakeEngine(Settings(data_dir=tmp_path))
    info = describe(WORKER_ID, engine, ["pixverse-text2video"])
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert (info.device, info.memory_bytes) == ("cpu", ram)
    assert (info.hostname, info.pid, info.engine) == ("gpu-host-3", 4242, engine.name)


def test_a_gpu_engine_is_described_without_torch() -> None:
    # a fresh interpreter: the test process itself may have imported torch already
    script = textwrap.dedent(f"""
        import sys
        from reelforge.worker.loop import describe

        class GpuEngine:
            name, device, memory_bytes = "gpu engine", "cuda:1", 80 * 2**30

        info = describe({WORKER_ID!r}, GpuEngine(), [])
        assert (info.device, info.memory_bytes) == ("cuda:1", 80 * 2**30), info
        assert "torch" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, timeout=120)


class PluggedInEngine:
    """A third-party engine (REELFORGE_ENGINE=package.module:factory) that predates
    `device` and `memory_bytes`."""

    name = "someone else's engine"

    def generate(self, task: GenerationTask, progress, cancelled) -> Clip:
        raise NotImplementedError


def test_an_engine_that_does_not_say_is_unknown() -> None:
    info = describe(WORKER_ID, PluggedInEngine(), [])  # type: ignore[arg-type]
    assert (info.device, info.memory_bytes) == ("unknown", None)
