"""Frame helpers for the LTX-2 engine: sizes, frame counts, dtypes.

Cover-cropping to a size and retiming to a frame rate are `reelforge.media.conform`'s
(one policy with the encoder and the worker's output check).
"""

from __future__ import annotations

import numpy as np

from reelforge.errors import JobError

GRID = 32  # LTX-2 height and width must be multiples of the VAE's spatial compression
MIN_SIDE = 64  # smallest side that still gives the transformer a 2x2 latent grid


def generation_size(width: int, height: int) -> tuple[int, int]:
    """The multiple-of-32 (width, height) closest to the requested size (same aspect)."""
    if width <= 0 or height <= 0:
        raise JobError(f"invalid output size {width}x{height}")

    def snap(side: int) -> int:
        return max(MIN_SIDE, int(side / GRID + 0.5) * GRID)

    return snap(width), snap(height)


def check_frame_count(num_frames: int) -> None:
    """LTX-2 decodes 8k+1 frames; anything else silently shrinks, so refuse it."""
    if num_frames < 1 or (num_frames - 1) % 8:
        raise JobError(f"num_frames must be 8k+1 (e.g. 25, 121), got {num_frames}")


def to_uint8(video) -> np.ndarray:
    """Pipeline output (T, C, H, W) float in [0, 1] (torch) -> uint8 (T, H, W, 3) numpy."""
    import torch

    video = (video.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8)
    return video.permute(0, 2, 3, 1).contiguous().cpu().numpy()
