"""FLOPs of one full-size LTX-2 transformer pass, counted by torch on the meta device.

`torch.utils.flop_counter.FlopCounterMode` counts every matmul and attention of a real
forward pass of `LTX2VideoTransformer3DModel` built from `architecture/transformer.json`
on `meta` (shapes only: no weights, no arithmetic). For a fixed text length the count is
exactly a quadratic in the video and audio token counts,

    flops = c0 + c1 Nv + c2 Na + c3 Nv^2 + c4 Na^2 + c5 Nv Na

(linear layers are linear in the tokens, self-attention quadratic, audio-video cross
attention bilinear), and linear in the number of blocks. So `fit` counts passes of a 1- and
a 2-block model at six token counts and solves for the 48-block coefficients exactly; they
ship as `architecture/transformer_flops.json`, which the API (no torch) uses through
`reelforge.engines.planning`. `tests/engines/test_meta_flops.py` checks the file against
fresh counts, and the full 48-block count at 540p 5 s against the coefficients.

    python -m reelforge.engines.flops      rewrite transformer_flops.json
"""

from __future__ import annotations

import json
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from reelforge.engines import architecture, full_size
from reelforge.engines.planning import TEXT_TOKENS

# (video tokens as latent frames x height x width, audio latent frames): six points that
# make the 6x6 system regular, the token counts of real sizes
FIT_POINTS: tuple[tuple[tuple[int, int, int], int], ...] = (
    ((4, 11, 20), 26),
    ((16, 17, 30), 26),
    ((16, 23, 40), 26),
    ((4, 11, 20), 126),
    ((4, 11, 20), 376),
    ((16, 17, 30), 126),
)


@cache
def _transformer(num_layers: int | None) -> Any:
    changes = {} if num_layers is None else {"num_layers": num_layers}
    return full_size.build("transformer", "meta", torch.bfloat16, **changes)


def count_pass(
    video: tuple[int, int, int],
    audio_frames: int,
    text_tokens: int = TEXT_TOKENS,
    num_layers: int | None = None,
) -> int:
    """FLOPs torch counts for one batch-1 pass over `video` = (latent frames, latent
    height, latent width) and `audio_frames` audio latent frames (`num_layers` blocks;
    None: the real 48)."""
    model = _transformer(num_layers)
    config = model.config
    frames, height, width = video
    meta = torch.device("meta")
    bf16 = torch.bfloat16

    def tensor(*shape: int, dtype: torch.dtype = bf16) -> torch.Tensor:
        return torch.empty(*shape, device=meta, dtype=dtype)

    inputs = {
        "hidden_states": tensor(1, frames * height * width, config.in_channels),
        "audio_hidden_states": tensor(1, audio_frames, config.audio_in_channels),
        # what the connectors hand over: caption_channels wide for both modalities
        "encoder_hidden_states": tensor(1, text_tokens, config.caption_channels),
        "audio_encoder_hidden_states": tensor(1, text_tokens, config.caption_channels),
        "timestep": tensor(1, dtype=torch.float32),
        "encoder_attention_mask": torch.ones(1, text_tokens, device=meta),
        "audio_encoder_attention_mask": torch.ones(1, text_tokens, device=meta),
    }
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(
            **inputs,
            num_frames=frames,
            height=height,
            width=width,
            fps=24.0,
            audio_num_frames=audio_frames,
            return_dict=False,
        )
    return int(counter.get_total_flops())


def fit(layers: int | None = None) -> dict[str, Any]:
    """The exact coefficients of `flops(Nv, Na)` for the real model (see the docstring)."""
    total_layers = layers or int(architecture.config("transformer")["num_layers"])
    rows: list[list[Fraction]] = []
    values: list[Fraction] = []
    for video, audio in FIT_POINTS:
        one, two = count_pass(video, audio, num_layers=1), count_pass(video, audio, num_layers=2)
        nv, na = video[0] * video[1] * video[2], audio
        rows.append([Fraction(x) for x in (1, nv, na, nv * nv, na * na, nv * na)])
        values.append(Fraction(one + (total_layers - 1) * (two - one)))
    solved = _solve(rows, values)
    if any(c.denominator != 1 for c in solved):
        raise ArithmeticError(f"the FLOP count is not the expected quadratic: {solved}")
    return {
        "layers": total_layers,
        "text_tokens": TEXT_TOKENS,
        "coefficients": [int(c) for c in solved],
    }


def _solve(rows: list[list[Fraction]], values: list[Fraction]) -> list[Fraction]:
    """Gaussian elimination in exact fractions."""
    size = len(rows)
    matrix = [row[:] + [value] for row, value in zip(rows, values, strict=True)]
    for col in range(size):
        pivot = next(r for r in range(col, size) if matrix[r][col] != 0)
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for r in range(size):
            if r != col and matrix[r][col] != 0:
                factor = matrix[r][col] / matrix[col][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col], strict=True)]
    return [matrix[i][size] / matrix[i][i] for i in range(size)]


def document() -> dict[str, Any]:
    """transformer_flops.json's content."""
    return {
        "component": "transformer_flops",
        "source": "torch.utils.flop_counter.FlopCounterMode on the meta device, "
        "reelforge/engines/flops.py (fit), from transformer.json",
        "formula": "c0 + c1*Nv + c2*Na + c3*Nv^2 + c4*Na^2 + c5*Nv*Na per batch-1 pass; "
        "Nv video tokens, Na audio latent frames",
        "torch": torch.__version__,
        **fit(),
    }


def main() -> None:
    path = Path(__file__).parent / "architecture" / "transformer_flops.json"
    path.write_text(json.dumps(document(), indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
