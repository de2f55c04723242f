"""Loading LTX-2 once: which checkpoint, which device and dtype, which sampling schedule.

Kept apart from `ltx2.py` so the engine module reads as "what a task does", and this one as
"what a deployment configured".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from reelforge.engines import memory_modes
from reelforge.engines.schedule import Checkpoint
from reelforge.engines.schedule import Schedule as Schedule  # where it was
from reelforge.engines.tiny import MARKER, build_tiny_checkpoint
from reelforge.settings import Settings

log = logging.getLogger(__name__)


def resolve_checkpoint(settings: Settings) -> Checkpoint:
    """`settings.checkpoint` when set, else the tiny random checkpoint (built once)."""
    if settings.checkpoint:
        path = Path(settings.checkpoint).expanduser()
        if path.is_dir():
            return Checkpoint(str(path), _read_marker(path))
        if settings.checkpoint.startswith(("/", ".", "~")) or settings.checkpoint.count("/") != 1:
            raise ValueError(
                f"REELFORGE_CHECKPOINT={settings.checkpoint!r}: no such directory,"
                " and not an 'owner/name' hub id"
            )
        return Checkpoint(settings.checkpoint)
    path = ensure_tiny_checkpoint(settings.data_dir / "checkpoints" / "tiny")
    log.warning(
        "\n%s\nREELFORGE_CHECKPOINT is not set: using a tiny RANDOMLY INITIALISED LTX-2 checkpoint"
        " (%s).\nEvery video and audio track it makes is NOISE. For real output set"
        " REELFORGE_CHECKPOINT to LTX-2 weights in diffusers format: a local directory or a hub"
        " id such as Lightricks/LTX-2 (needs a large GPU).\n%s",
        "!" * 78,
        path,
        "!" * 78,
    )
    return Checkpoint(str(path), _read_marker(path))


def ensure_tiny_checkpoint(path: Path) -> Path:
    """Build the tiny checkpoint at `path` unless a complete one is already there."""
    if (path / MARKER).is_file() and (path / "model_index.json").is_file():
        return path
    shutil.rmtree(path, ignore_errors=True)  # an interrupted build
    path.parent.mkdir(parents=True, exist_ok=True)
    # Build next to it and rename, so a concurrent reader never sees half a checkpoint.
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=path.parent))
    try:
        build_tiny_checkpoint(staging)
        with contextlib.suppress(OSError):  # another worker finished first: use theirs
            staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _read_marker(path: Path) -> dict[str, Any]:
    marker = path / MARKER
    return json.loads(marker.read_text()) if marker.is_file() else {}


def pick_device(name: str) -> str:
    """`settings.device` resolved: "auto" picks CUDA when there is one, and a bare "cuda"
    gets the index of the GPU it means ("cuda:0"), which is what the fleet shows."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and torch.cuda.is_available():
        return f"cuda:{torch.cuda.current_device()}"
    return name


def device_memory(device: str) -> int | None:
    """Total memory of `device`: GPU memory for CUDA, physical RAM for the CPU, else None."""
    if device.startswith("cuda"):
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    if device == "cpu":
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return None


def pick_dtype(name: str, device: str) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def uses_offload(settings: Settings, device: str) -> bool:
    """Model CPU offload only means something when the device is an accelerator."""
    if settings.cpu_offload and device == "cpu":
        log.warning("REELFORGE_CPU_OFFLOAD ignored: the device is already the CPU")
    return settings.cpu_offload and device != "cpu"


def load_pipelines(
    checkpoint: Checkpoint, settings: Settings, device: str, dtype: torch.dtype, offload: bool
) -> tuple[tuple[Any, Any, Any], memory_modes.Choice | None]:
    """Load the components once; return (text, image, condition) pipelines sharing them,
    and the memory mode they were placed in (None: model CPU offload, per call)."""
    from diffusers import LTX2ConditionPipeline, LTX2ImageToVideoPipeline, LTX2Pipeline

    # 1. Load, and derive the other two pipelines from the same modules
    text = LTX2Pipeline.from_pretrained(checkpoint.source, dtype=dtype)
    with _quiet_diffusers():
        # from_pipe casts to float32 unless told otherwise, and the modules are shared
        image = LTX2ImageToVideoPipeline.from_pipe(text, dtype=dtype)
        condition = LTX2ConditionPipeline.from_pipe(text, dtype=dtype)
    pipes = (text, image, condition)
    for pipe in pipes:
        pipe.set_progress_bar_config(disable=True)  # the engine reports progress itself
    # 2. Memory and speed settings (they act on the shared modules)
    if settings.attention_backend:
        text.transformer.set_attention_backend(settings.attention_backend)
    if settings.vae_tiling:
        text.vae.enable_tiling()
    choice = None
    if not offload:  # else the engine installs offload hooks per call (_activate)
        sizes = memory_modes.Sizes.of(text)
        choice = memory_modes.choose(settings.memory_mode, device, device_memory(device), sizes)
        log.info("%s: %s", choice.describe(), choice.reason)
        memory_modes.apply(choice.mode, text, device)
    if settings.compile:
        # Compile the repeated block once instead of the whole model: same speed, far
        # shorter warm-up.
        text.transformer.compile_repeated_blocks(fullgraph=True)
    return pipes, choice


def load_upsampler(checkpoint: Checkpoint, device: str, dtype: torch.dtype) -> Any:
    """A distilled checkpoint's `latent_upsampler/` (the two-stage path), on `device`, or
    None (not distilled, or none in the checkpoint's directory)."""
    if not checkpoint.two_stage:
        return None
    path = Path(checkpoint.source) / "latent_upsampler"
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    return LTX2LatentUpsamplerModel.from_pretrained(path, torch_dtype=dtype).to(device).eval()


@contextlib.contextmanager
def _quiet_diffusers() -> Iterator[None]:
    """Silence diffusers' per-module 'kept in float32' notices from `from_pipe`'s cast."""
    from diffusers.utils import logging as diffusers_logging

    level = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(level)
