"""The FLOP table of BENCHMARKS.md: full-size LTX-2 transformer work per video, from
torch's flop counter on the meta device (`reelforge/engines/flops.py`), no GPU needed.

    python bench/meta_flops.py      # prints the markdown table

`tests/engines/test_meta_flops.py` checks that BENCHMARKS.md carries exactly this table.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reelforge.endpoints.sizes import output_size  # noqa: E402
from reelforge.engines.planning import plan_task  # noqa: E402
from reelforge.engines.schedule import Schedule  # noqa: E402

H100_BF16_TFLOPS = 989.0  # dense bf16 peak of an H100 SXM (an H200 has the same compute)
ROWS = (
    ("text", "360p", 5),
    ("text", "540p", 5),
    ("text", "720p", 5),
    ("text", "1080p", 5),
    ("text", "540p", 8),
    ("text", "720p", 8),
    ("text", "540p", 15),
    ("text", "1080p", 15),
    ("transition", "540p", 5),
    ("extend", "540p", 5),
)
GUIDED = Schedule(steps=30, fast_steps=10, distilled=False)
DISTILLED = Schedule(steps=8, fast_steps=8, distilled=True)


def table() -> str:
    lines = [
        "| kind | quality, 16:9 | s | generated at | video + audio tokens | TFLOP per pass "
        "| default 30 x 4 passes, PFLOP | floor on an H100, s | distilled 8 passes, PFLOP "
        "| two-stage 8 + 3, PFLOP |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, quality, seconds in ROWS:
        width, height = output_size(quality, "16:9")
        frames = 24 * seconds + (0 if kind == "extend" else 1)
        guided = plan_task(kind, width, height, frames, False, GUIDED)
        distilled = plan_task(kind, width, height, frames, False, DISTILLED)
        two_stage = plan_task(kind, width, height, frames, False, DISTILLED, two_stage=True)
        (stage,) = guided.stages
        floor = guided.tflop / H100_BF16_TFLOPS
        lines.append(
            f"| {kind} | {quality} | {seconds} | {guided.width}x{guided.height} "
            f"| {stage.video_tokens:,} + {stage.audio_latent_frames} | {stage.tflop_per_pass:,.0f} "
            f"| {guided.tflop / 1000:.1f} | {floor:.0f} | {distilled.tflop / 1000:.2f} "
            f"| {two_stage.tflop / 1000:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
