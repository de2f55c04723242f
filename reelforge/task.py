"""The two records that cross the worker: what an engine is asked to make
(`GenerationTask`) and the audio-video material that goes in and comes out (`Clip`).

Data path: request -> endpoints (validate, plan) -> GenerationTask -> engine -> Clip
-> media.conform.trim (to output_frames) -> media.encode_mp4 -> storage. Nothing here
imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

FPS = 24  # LTX-2 is trained at 24 fps; every endpoint generates at this rate

Kind = Literal["text", "image", "transition", "extend"]


@dataclass(frozen=True)
class Clip:
    """Decoded video (and optional audio), in memory."""

    frames: np.ndarray  # uint8, shape (T, H, W, 3), RGB
    fps: float  # frames per second of `frames`
    audio: np.ndarray | None = None  # float32 in [-1, 1], shape (channels, samples); None = silent
    sample_rate: int | None = None  # Hz of `audio`; set whenever audio is

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def duration(self) -> float:
        return self.frames.shape[0] / self.fps


@dataclass(frozen=True)
class GenerationTask:
    """Everything an engine needs, fully resolved: no defaults left to guess."""

    kind: Kind  # text / image (first frame) / transition (first+last) / extend (video prefix)
    prompt: str  # final prompt: style, sound and dialogue already woven in
    negative_prompt: str  # what to steer away from ("" for none)
    width: int  # exact output width in pixels (even); engines pick their own internal size
    height: int  # exact output height in pixels (even)
    # frames to generate at `fps`: 8k+1 for text/image/transition (24 s + 1); for extend the
    # count of NEW frames appended after the input, a multiple of 8 (24 per second)
    num_frames: int
    seed: int  # the seed used; same seed + checkpoint + task = same frames
    audio: bool  # produce an audio track
    fast: bool = False  # motion_mode=fast: distilled schedule or fewer steps
    enhance_prompt: bool = False  # let the model rewrite the prompt (thinking_type)
    fps: int = FPS
    # keep only the first N frames of what the engine made (its audio cut to match), or
    # None for all: the OpenAI Videos API's exact seconds (24 n) out of LTX-2's 8k+1
    output_frames: int | None = None
    images: tuple[Image.Image, ...] = field(default=(), compare=False)
    # image: (first frame,); transition: (first frame, last frame); else ()
    video: Clip | None = field(default=None, compare=False)  # extend: the clip to continue
