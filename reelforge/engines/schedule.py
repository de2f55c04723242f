"""Which checkpoint and which denoising schedule: plain data, no torch.

Kept apart from `ltx2_load.py` (which loads the weights) so that the API process can plan
a generation exactly as a worker will run it (`reelforge.engines.planning`) without
importing torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reelforge.engines.tiny import MARKER, TINY_DEFAULTS
from reelforge.settings import Settings

REAL_DEFAULT_STEPS = 30  # diffusers' (and Lightricks') default for the non-distilled model


@dataclass(frozen=True)
class Checkpoint:
    source: str  # what from_pretrained gets: a local directory or a hub repo id
    marker: dict[str, Any] = field(default_factory=dict)  # reelforge.json, {} when absent

    @property
    def tiny(self) -> bool:
        return bool(self.marker.get("tiny"))

    @property
    def distilled(self) -> bool:
        """Distilled weights run 8 fixed sigmas without guidance.

        Detected by an explicit `"distilled": true/false` in reelforge.json, else by the
        checkpoint's name containing "distill" (e.g. diffusers/LTX-2.3-Distilled-Diffusers).
        """
        if "distilled" in self.marker:
            return bool(self.marker["distilled"])
        return "distill" in Path(self.source.rstrip("/")).name.lower()

    @property
    def two_stage(self) -> bool:
        """Distilled, with a `latent_upsampler/` beside the components: `fast` tasks and
        those of 720p and up run the two-stage schedule (`runs_two_stage`,
        engines/ltx2_two_stage.py)."""
        return self.distilled and (Path(self.source) / "latent_upsampler").is_dir()


# The two-stage schedule generates at half the output size: from 720p up its first stage
# runs at 360p or more, the half-resolution pass LTX-2's two-stage recipe was made for;
# below, half size (270p at 540p) loses the detail the refining stage cannot put back.
TWO_STAGE_MIN_SHORT_SIDE = 720


def runs_two_stage(fast: bool, width: int, height: int) -> bool:
    """Whether a two-stage capable checkpoint (`Checkpoint.two_stage`) runs a task of this
    output size in two stages: always for motion_mode=fast, by default from 720p up."""
    return fast or min(width, height) >= TWO_STAGE_MIN_SHORT_SIDE


@dataclass(frozen=True)
class Schedule:
    """Denoising schedule for normal and `fast` (motion_mode=fast) calls."""

    steps: int
    fast_steps: int
    distilled: bool

    @classmethod
    def for_checkpoint(cls, settings: Settings, checkpoint: Checkpoint) -> Schedule:
        steps = settings.steps or checkpoint.marker.get("default_steps") or REAL_DEFAULT_STEPS
        fast = settings.fast_steps or checkpoint.marker.get("fast_steps") or max(1, steps // 3)
        return cls(steps=steps, fast_steps=min(fast, steps), distilled=checkpoint.distilled)

    def call_kwargs(self, fast: bool) -> dict[str, Any]:
        if self.distilled:
            # The only schedule distilled weights are trained for, so `fast` changes nothing.
            from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

            return {
                "sigmas": list(DISTILLED_SIGMA_VALUES),
                "guidance_scale": 1.0,
                "stg_scale": 0.0,
                "modality_scale": 1.0,
                "guidance_rescale": 0.0,
                "audio_guidance_scale": 1.0,
                "audio_stg_scale": 0.0,
                "audio_modality_scale": 1.0,
                "audio_guidance_rescale": 0.0,
            }
        return {"num_inference_steps": self.fast_steps if fast else self.steps}


def configured_checkpoint(settings: Settings) -> Checkpoint:
    """The checkpoint a worker with `settings` would load, without loading or building it
    (no checkpoint set: the tiny one's defaults)."""
    if not settings.checkpoint:
        return Checkpoint("tiny", dict(TINY_DEFAULTS))
    path = Path(settings.checkpoint).expanduser()
    marker = path / MARKER
    if marker.is_file():
        return Checkpoint(str(path), json.loads(marker.read_text()))
    return Checkpoint(settings.checkpoint)
