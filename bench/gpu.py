"""Full-size LTX-2 on a CUDA GPU with random weights: seconds per video by stage, peak GPU
memory, achieved TFLOP/s and the ratio to the FLOP floor.

    python bench/gpu.py                              # every case below, memory mode auto
    python bench/gpu.py --cases text-540p --schedules default --modes resident,int8
    python bench/gpu.py --smoke-cpu                  # the script's own check, tiny, on CPU

Random weights of the real sizes (`reelforge/engines/full_size.py`, configs cited in
`reelforge/engines/architecture/`) cost exactly the FLOPs and memory real weights do, so
nothing is downloaded; the videos are noise. Cases: every endpoint kind (text, image,
transition, extend) at 540p 5 s, and text to video at 720p and 1080p 5 s; schedules:
`default` (30 steps x 4 guided passes), `fast` (10 steps x 4), `two-stage` (distilled: 8
passes at half size, latents x2, 3 at full size); memory modes: each of
`engines/memory_modes.MODES` whose estimated peak fits (or `--modes`).

Per run it prints: text encoding, denoising, VAE decode, audio decode (audio VAE +
vocoder), mp4 encode (libx264, `media.encode_mp4`) in seconds, the peak GPU memory
(`torch.cuda.max_memory_allocated`), the transformer TFLOP of the plan
(`engines.planning`, torch's flop counter), achieved TFLOP/s over the denoising time, and
denoising time / floor, the floor being the plan's TFLOP at `--peak-tflops` (989: an H100
or H200's dense bf16). Stages are timed by wrapping each component's call with
`torch.cuda.synchronize()` on both sides. It refuses to run without CUDA
(`--smoke-cpu` runs the tiny checkpoint on the CPU instead: it checks this script, its
figures mean nothing).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]  # queue.py
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

CASES = {  # name: (kind, quality, seconds)
    "text-540p": ("text", "540p", 5),
    "image-540p": ("image", "540p", 5),
    "transition-540p": ("transition", "540p", 5),
    "extend-540p": ("extend", "540p", 5),
    "text-720p": ("text", "720p", 5),
    "text-1080p": ("text", "1080p", 5),
}
SCHEDULES = ("default", "fast", "two-stage")


def main() -> None:
    args = _arguments()
    import torch

    if not args.smoke_cpu and not torch.cuda.is_available():
        sys.exit(
            f"bench/gpu.py needs a CUDA GPU (torch {torch.__version__} sees none); nothing "
            "was measured. On any machine, `python bench/meta_flops.py` prints the FLOP table."
        )
    from reelforge.engines import memory_modes

    device = "cpu" if args.smoke_cpu else "cuda"
    pipes, upsampler = _components(device, args.smoke_cpu)
    sizes = memory_modes.Sizes.of(pipes["text"])
    memory = None if args.smoke_cpu else torch.cuda.get_device_properties(0).total_memory
    modes = args.modes.split(",") if args.modes else _fitting(sizes, memory)
    if args.smoke_cpu and not args.modes:
        modes = ["resident"]  # sequential offload cannot run on the CPU (memory_modes.py)
    print(f"device: {_device_name(device)}; memory modes: {', '.join(modes)}")
    print(_HEADER)
    for index, mode in enumerate(modes):
        if index:  # a mode's hooks stay on the modules: build them again for the next
            del pipes, upsampler
            if device == "cuda":
                torch.cuda.empty_cache()
            pipes, upsampler = _components(device, args.smoke_cpu)
        memory_modes.apply(mode, pipes["text"], device)
        upsampler.to(device)
        for case in args.cases.split(","):
            for schedule in args.schedules.split(","):
                if schedule == "two-stage" and CASES[case][0] != "text":
                    continue  # the engine runs two stages for text to video only
                figures = _measure(pipes, upsampler, case, schedule, device, args)
                print(_row(mode, case, schedule, figures), flush=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--schedules", default=",".join(SCHEDULES))
    parser.add_argument("--modes", default="", help="memory modes (default: those that fit)")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--smoke-cpu", action="store_true", help="tiny checkpoint on the CPU")
    return parser.parse_args()


def _components(device: str, smoke: bool) -> tuple[dict[str, Any], Any]:
    """The three pipelines over one set of components (on the CPU first when a memory mode
    other than resident will place them), and the latent upsampler."""
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        LTX2ConditionPipeline,
        LTX2ImageToVideoPipeline,
        LTX2Pipeline,
    )

    from reelforge.engines import full_size
    from reelforge.engines.tiny import _tokenizer, build_tiny_checkpoint

    if smoke:
        path = build_tiny_checkpoint(Path(tempfile.mkdtemp()) / "tiny")
        text = LTX2Pipeline.from_pretrained(path, dtype=torch.float32)
        from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

        upsampler = LTX2LatentUpsamplerModel.from_pretrained(path / "latent_upsampler")
    else:
        names = ("transformer", "connectors", "vae", "audio_vae", "vocoder", "text_encoder")
        built = full_size.build_all("cpu", torch.bfloat16, names=names)  # placed per mode
        text = LTX2Pipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(), tokenizer=_tokenizer(), **built
        )
        upsampler = full_size.build("latent_upsampler", "cpu", torch.bfloat16)
    dtype = text.transformer.dtype
    pipes = {
        "text": text,
        "image": LTX2ImageToVideoPipeline.from_pipe(text, dtype=dtype),
        "condition": LTX2ConditionPipeline.from_pipe(text, dtype=dtype),
    }
    for pipe in pipes.values():
        pipe.set_progress_bar_config(disable=True)
    return pipes, upsampler


def _fitting(sizes: Any, memory: int | None) -> list[str]:
    from reelforge.engines import memory_modes

    return [
        mode
        for mode in memory_modes.MODES
        if memory is None or memory_modes.estimated_peak(mode, sizes) <= 0.9 * memory
    ]


def _measure(
    pipes: dict[str, Any], upsampler: Any, case: str, schedule: str, device: str, args: Any
) -> dict[str, float]:
    import numpy as np
    import torch
    from diffusers.pipelines.ltx2 import LTX2VideoCondition
    from PIL import Image

    from reelforge.endpoints.sizes import output_size
    from reelforge.engines import ltx2_two_stage, planning
    from reelforge.engines.ltx2_frames import generation_size
    from reelforge.engines.schedule import Schedule
    from reelforge.media.encode import encode_mp4
    from reelforge.task import Clip

    # 1. The plan: size, frames, passes, TFLOP
    kind, quality, seconds = CASES[case]
    width, height = output_size(quality, "16:9")
    frames = 24 * seconds if kind == "extend" else 24 * seconds + 1
    steps = 3 if args.smoke_cpu else 30
    distilled = schedule == "two-stage"
    plan = planning.plan_task(
        kind, width, height, frames, schedule == "fast",
        Schedule(steps, max(1, steps // 3), distilled), two_stage=distilled,
    )  # fmt: skip
    gen_w, gen_h = generation_size(width, height)
    # 2. Timers around each component's call
    pipe = pipes[{"text": "text", "image": "image"}.get(kind, "condition")]
    seconds_in: dict[str, float] = defaultdict(float)
    span: list[float] = []
    restore = [
        _timed(pipe.text_encoder, "forward", "text encoding", seconds_in, device),
        _timed(pipe.vae, "decode", "VAE decode", seconds_in, device),
        _timed(pipe.audio_vae, "decode", "audio decode", seconds_in, device),
        _timed(pipe.vocoder, "forward", "audio decode", seconds_in, device),
        _timed(pipe.transformer, "forward", "denoising", seconds_in, device, span),
    ]
    frame = Image.new("RGB", (gen_w, gen_h), (90, 120, 150))
    extra: dict[str, Any] = {}
    if kind == "image":
        extra = {"image": frame}
    elif kind == "transition":
        extra = {"conditions": [LTX2VideoCondition(frames=frame, index=0),
                                LTX2VideoCondition(frames=frame, index=-1)]}  # fmt: skip
    elif kind == "extend":
        prefix = [frame] * planning.EXTEND_PREFIX_FRAMES
        extra = {"conditions": [LTX2VideoCondition(frames=prefix, index=0)]}
    common = {"prompt": "a red fox runs through snow", "negative_prompt": "blurry",
              "num_frames": plan.num_frames, "frame_rate": 24.0, **extra}  # fmt: skip
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    # 3. One video
    started = time.perf_counter()
    with torch.inference_mode():
        if distilled:
            no_guidance = Schedule(8, 8, True).call_kwargs(True)
            output = ltx2_two_stage.generate(
                pipe, upsampler, common, no_guidance, gen_w, gen_h, 1, _NoSteps()
            )
        else:
            output = pipe(
                **common, width=gen_w, height=gen_h, output_type="pt",
                generator=torch.Generator("cpu").manual_seed(1),
                num_inference_steps=plan.steps,
            )  # fmt: skip
    total = time.perf_counter() - started
    for undo in restore:
        undo()
    # 4. The mp4
    video = (output.frames[0].float().clamp(0, 1) * 255).round().to(torch.uint8)
    clip = Clip(
        frames=video.permute(0, 2, 3, 1).cpu().numpy(),
        fps=24,
        audio=np.clip(output.audio[0].float().cpu().numpy(), -1, 1),
        sample_rate=int(pipe.vocoder.config.output_sampling_rate),
    )
    encoding = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        encode_mp4(clip, width, height, Path(tmp) / "out.mp4")
    seconds_in["mp4 encode"] = time.perf_counter() - encoding
    denoise = span[1] - span[0] if len(span) == 2 else seconds_in["denoising"]
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else 0
    return {
        **seconds_in,
        "denoising": denoise,
        "total": total + seconds_in["mp4 encode"],
        "peak GiB": peak / 2**30,
        "passes": plan.passes,
        "TFLOP": plan.tflop,
        "TFLOP/s": plan.tflop / denoise if denoise else 0.0,
        "x floor": denoise / (plan.tflop / args.peak_tflops),
    }


class _NoSteps:
    """The step callback `ltx2_two_stage.generate` expects (nothing to report here)."""

    interrupted = False
    first = 0
    total: int | None = None

    def __call__(self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]):
        return tensors


def _timed(
    module: Any,
    method: str,
    stage: str,
    into: dict[str, float],
    device: str,
    span: list[float] | None = None,
) -> Callable[[], None]:
    """Wrap `module.method` to add its synchronized wall time to `into[stage]` (and keep
    the first start and the last end in `span`); returns the undo."""
    import torch

    original = getattr(module, method)

    def timed(*args: Any, **kwargs: Any) -> Any:
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = original(*args, **kwargs)
        if device == "cuda":
            torch.cuda.synchronize()
        end = time.perf_counter()
        into[stage] += end - start
        if span is not None:
            span[:] = [span[0] if span else start, end]
        return result

    setattr(module, method, timed)
    return lambda: setattr(module, method, original)


_COLUMNS = ("text encoding", "denoising", "VAE decode", "audio decode", "mp4 encode", "total",
            "peak GiB", "passes", "TFLOP", "TFLOP/s", "x floor")  # fmt: skip
_HEADER = " | ".join(("mode", "case", "schedule", *_COLUMNS))


def _row(mode: str, case: str, schedule: str, figures: dict[str, float]) -> str:
    cells = [f"{figures.get(name, 0.0):.1f}" for name in _COLUMNS]
    return " | ".join((mode, case, schedule, *cells))


def _device_name(device: str) -> str:
    import torch

    return (
        torch.cuda.get_device_name(0)
        if device == "cuda"
        else "cpu (smoke run: no figure means anything)"
    )


if __name__ == "__main__":
    main()
