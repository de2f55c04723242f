"""`reelforge checkpoint ...`: build LTX-2 checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli.common import console

app = typer.Typer(help="Build and inspect LTX-2 checkpoints.")


@app.command("tiny")
def checkpoint_tiny(
    directory: Annotated[Path, typer.Argument(help="where to save the checkpoint")],
) -> None:
    """Build a tiny, randomly initialised LTX-2 checkpoint (offline; output is noise)."""
    from reelforge.engines.tiny import build_tiny_checkpoint

    path = build_tiny_checkpoint(directory)
    console.print(f"tiny random LTX-2 checkpoint saved to {path} (for tests: its output is noise)")


@app.command("random-full")
def checkpoint_random_full(
    device: Annotated[
        str, typer.Option(help="'cuda', 'cuda:1', ... (random weights on the GPU) or 'meta'")
    ] = "meta",
    dtype: Annotated[str, typer.Option(help="bfloat16, float16 or float32")] = "bfloat16",
) -> None:
    """Build every full-size LTX-2 component (19B transformer, Gemma 3 12B, VAEs, vocoder,
    latent upsampler) with random weights directly on DEVICE: no disk, no download.

    On 'meta' (any machine) it checks the architecture and sizes; on a GPU it shows
    what the real weights take in memory. The weights are random: nothing it makes is a
    video."""
    from reelforge.cli.random_full import build_and_report

    build_and_report(device, dtype)
