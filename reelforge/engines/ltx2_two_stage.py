"""The two-stage distilled schedule LTX-2 was built for (diffusers' "Distilled checkpoint
generation", docs/source/en/api/pipelines/ltx2.md):

    1. generate at half size with the 8 distilled sigmas, latents out (no decode);
    2. upsample the video latents x2 (`LTX2LatentUpsamplePipeline` + the checkpoint's
       `latent_upsampler`);
    3. refine at full size with the 3 stage-2 sigmas, re-noised to the first of them,
       no guidance, and decode.

11 transformer passes in all, 8 of them at a quarter of the tokens (see
`planning.plan_task(two_stage=True)`). Used by the engine for `motion_mode=fast`, every
kind, on a distilled checkpoint that has a latent upsampler.
"""

from __future__ import annotations

from typing import Any

import torch

from reelforge.engines.ltx2_frames import generation_size


def half_size(width: int, height: int) -> tuple[int, int]:
    """Stage 1's size; the output is exactly twice it (so both are multiples of 32)."""
    return generation_size(width // 2, height // 2)


def generate(
    pipe: Any,
    refiner: Any,
    upsampler: Any,
    common: dict[str, Any],
    conditioning: list[str],
    distilled: dict[str, Any],
    width: int,
    height: int,
    seed: int,
    steps: Any,
) -> Any:
    """Run the three steps: stage 1 on `pipe` (the task's pipeline, with `common`'s
    prompt, frames, frame rate and conditioning), stage 2 on `refiner` (the text
    pipeline over the same modules) with `common` less its `conditioning` keys (the
    conditions are in the latents by then, as in diffusers' FLF2V example). `distilled`
    holds the guidance-free call arguments, `steps` the step callback. Returns the output
    (frames and audio) at twice `half_size(width, height)`."""
    from diffusers.pipelines.ltx2 import LTX2LatentUpsamplePipeline
    from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES

    half_w, half_h = half_size(width, height)
    sigmas = list(STAGE_2_DISTILLED_SIGMA_VALUES)
    steps.total = len(distilled["sigmas"]) + len(sigmas)  # progress counts both stages
    guidance = {key: value for key, value in distilled.items() if key != "sigmas"}
    # 1. Half size, 8 sigmas, latents out
    video_latents, audio_latents = pipe(
        **common,
        width=half_w,
        height=half_h,
        generator=torch.Generator("cpu").manual_seed(seed),
        sigmas=distilled["sigmas"],
        output_type="latent",
        return_dict=False,
        callback_on_step_end=steps,
        callback_on_step_end_tensor_inputs=[],
        **guidance,
    )
    if steps.interrupted:
        return None
    # 2. x2 in latent space
    upsample: Any = LTX2LatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=upsampler)
    upsample.set_progress_bar_config(disable=True)
    latents = upsample(latents=video_latents, output_type="latent", return_dict=False)[0]
    # 3. Full size, 3 sigmas from the first of them
    steps.first = len(distilled["sigmas"])
    refine = {key: value for key, value in common.items() if key not in conditioning}
    return refiner(
        **refine,
        width=2 * half_w,
        height=2 * half_h,
        latents=latents,
        audio_latents=audio_latents,
        generator=torch.Generator("cpu").manual_seed(seed + 1),
        sigmas=sigmas,
        noise_scale=sigmas[0],
        output_type="pt",
        callback_on_step_end=steps,
        callback_on_step_end_tensor_inputs=[],
        **guidance,
    )
