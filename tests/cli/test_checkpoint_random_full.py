"""`reelforge checkpoint random-full`: full-size random components, here on meta."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from reelforge.cli import app


def test_builds_every_full_size_component_on_meta():
    result = CliRunner().invoke(app, ["checkpoint", "random-full", "--device", "meta"])
    assert result.exit_code == 0, result.output
    for name in ("transformer", "text_encoder", "latent_upsampler", "18.88B", "12.19B"):
        assert name in result.output
    assert "34.32B parameters" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_refuses_cuda_without_a_gpu_in_one_line():
    result = CliRunner().invoke(app, ["checkpoint", "random-full", "--device", "cuda"])
    assert result.exit_code == 1
    assert "no CUDA device" in result.output and "--device meta" in result.output
    assert "Traceback" not in result.output


def test_refuses_an_unknown_dtype():
    result = CliRunner().invoke(app, ["checkpoint", "random-full", "--dtype", "int3"])
    assert result.exit_code == 1 and "--dtype 'int3': must be one of bfloat16" in result.output
