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
