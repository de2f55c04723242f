"""bench/gpu.py refuses to run without CUDA, saying so and measuring nothing (its
`--smoke-cpu` run of the tiny checkpoint takes minutes here: run by hand)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_refuses_without_cuda():
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu.py")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 1
    assert "needs a CUDA GPU" in done.stderr and "nothing was measured" in done.stderr
    assert done.stdout == ""
