"""The LTX-2 engine: one resident set of diffusers components serving every task kind.

    text        LTX2Pipeline
    image       LTX2ImageToVideoPipeline (first frame)
    transition  LTX2ConditionPipeline, keyframes [first at latent 0, last at latent -1]
    extend      LTX2ConditionPipeline, the input's last 8a+1 frames at latent 0

Behaviour worth knowing:
- Size: generates at the multiple-of-32 size nearest the requested one; `media.encode_mp4`
  scales the frames to the exact output size.
- `fast`: distilled checkpoints run their 8-sigma schedule without guidance (see
  `schedule.Checkpoint.distilled`); with a `latent_upsampler` too, `fast` (every kind)
  and every task of 720p and up run the two-stage schedule (`schedule.runs_two_stage`,
  `ltx2_two_stage.py`: half size, x2 latents, 3 refining sigmas). Otherwise `fast` runs
  `fast_steps` instead of `steps` with the same guidance.
- `enhance_prompt`: turns on diffusers' prompt enhancement when the checkpoint has a
  `processor` component (the Gemma text encoder, or a dedicated `prompt_enhancer`, then
  rewrites the prompt, seeded by the task's seed); silently ignored otherwise.
- Audio: the pipelines always decode audio; without `task.audio` it is dropped.
- Cancel: diffusers' interrupt flag skips the remaining steps but the pipeline still
  decodes the half-denoised latents before returning; the result is then discarded.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from reelforge.engines import ltx2_audio, ltx2_two_stage
from reelforge.engines.base import CancelledFn, ProgressFn
from reelforge.engines.ltx2_frames import check_frame_count, generation_size, to_uint8
from reelforge.engines.ltx2_load import (
    Schedule,
    device_memory,
    load_pipelines,
    load_upsampler,
    pick_device,
    pick_dtype,
    resolve_checkpoint,
    uses_offload,
)
from reelforge.engines.schedule import runs_two_stage
from reelforge.errors import Cancelled, JobError
from reelforge.media.conform import cover_frames, cover_image, resample_audio, retime
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask

log = logging.getLogger(__name__)

EXTEND_PREFIX_FRAMES = 17  # input frames an extension is conditioned on (8a+1, ~0.7 s)


class LTX2Engine:
    """Implements `reelforge.engines.base.Engine` with diffusers' LTX-2 pipelines."""

    def __init__(self, settings: Settings):
        # 1. Which weights, where, in which precision
        self.checkpoint = resolve_checkpoint(settings)
        self.device = pick_device(settings.device)
        self.memory_bytes = device_memory(self.device)
        self.dtype = pick_dtype(settings.dtype, self.device)
        self.offload = uses_offload(settings, self.device)
        self.schedule = Schedule.for_checkpoint(settings, self.checkpoint)
        # 2. Load once; the three pipelines share every module
        pipes, self.memory = load_pipelines(
            self.checkpoint, settings, self.device, self.dtype, self.offload
        )
        self.text_pipe, self.image_pipe, self.cond_pipe = pipes
        self._offload_owner: Any = None
        # distilled weights with a latent upsampler: motion_mode=fast and 720p up run the
        # two-stage schedule (ltx2_two_stage.py)
        self.upsampler = load_upsampler(self.checkpoint, self.device, self.dtype)
        self.sample_rate = int(self.text_pipe.vocoder.config.output_sampling_rate)
        what = "tiny-random (noise)" if self.checkpoint.tiny else self.checkpoint.source
        placed = self.memory.describe() if self.memory else "model CPU offload"
        self.name = f"ltx2 {what} on {self.device}, {placed}"  # `reelforge status` shows it
        log.info("loaded %s (%s, %s)", self.name, self.dtype, self.schedule)

    # --- the Engine protocol ---------------------------------------------------------

    def generate(self, task: GenerationTask, progress: ProgressFn, cancelled: CancelledFn) -> Clip:
        """Run one task; see the module docstring for what each kind does."""
        # 1. Check inputs, pick the generation size
        width, height = generation_size(task.width, task.height)
        if cancelled():
            raise Cancelled("cancelled by request")
        if task.kind == "extend":
            return self._extend(task, width, height, progress, cancelled)
        check_frame_count(task.num_frames)
        # 2. Pick the pipeline and its conditioning
        pipe, extra = self._conditioning(task, width, height)
        # 3. Denoise and decode
        frames, audio = self._run(
            pipe, task, width, height, task.num_frames, extra, progress, cancelled
        )
        return self._clip(task, frames, audio)

    # --- per kind --------------------------------------------------------------------

    def _conditioning(self, task: GenerationTask, width: int, height: int):
        if task.kind == "text":
            return self.text_pipe, {}
        if task.kind == "image":
            if not task.images:
                raise JobError("an image-to-video task needs an image")
            return self.image_pipe, {"image": cover_image(task.images[0], width, height)}
        if task.kind == "transition":
            if len(task.images) != 2:
                raise JobError("a transition needs exactly two images (first and last frame)")
            from diffusers.pipelines.ltx2 import LTX2VideoCondition

            first, last = (cover_image(image, width, height) for image in task.images)
            conditions = [
                LTX2VideoCondition(frames=first, index=0),
                LTX2VideoCondition(frames=last, index=-1),
            ]
            return self.cond_pipe, {"conditions": conditions}
        raise JobError(f"unknown task kind {task.kind!r}")

    def _extend(
        self,
        task: GenerationTask,
        width: int,
        height: int,
        progress: ProgressFn,
        cancelled: CancelledFn,
    ) -> Clip:
        from diffusers.pipelines.ltx2 import LTX2VideoCondition

        # 1. Check the input and bring it to the generation size and frame rate
        clip = task.video
        if clip is None or len(clip.frames) == 0:
            raise JobError("an extend task needs an input video")
        if task.num_frames <= 0 or task.num_frames % 8:
            raise JobError(f"extend adds a multiple of 8 frames, got {task.num_frames}")
        frames_in = cover_frames(retime(clip.frames, clip.fps, task.fps), width, height)
        # 2. Condition on the input's tail, generate tail + new frames, keep the new ones
        prefix = min(EXTEND_PREFIX_FRAMES, (len(frames_in) - 1) // 8 * 8 + 1)
        condition = LTX2VideoCondition(frames=frames_in[-prefix:], index=0)
        total = prefix + task.num_frames
        frames, audio = self._run(
            self.cond_pipe,
            task,
            width,
            height,
            total,
            {"conditions": [condition]},
            progress,
            cancelled,
        )
        if frames.shape[1:3] != frames_in.shape[1:3]:  # the two-stage path's doubled size
            frames = cover_frames(frames, width, height)
        out_frames = np.concatenate([frames_in, frames[prefix:]])
        if audio is None:
            return Clip(frames=out_frames, fps=task.fps)
        # 3. Audio: the input's track, crossfaded into the continuation's at the seam
        rate, fps = self.sample_rate, task.fps
        generated = ltx2_audio.fit_length(audio, ltx2_audio.num_samples(total, fps, rate))
        head = self._input_audio(clip, len(frames_in), fps, channels=generated.shape[0])
        joined = ltx2_audio.extension_audio(
            head,
            generated,
            seam=ltx2_audio.num_samples(prefix, fps, rate),
            fade=round(ltx2_audio.SEAM_SECONDS * rate),
        )
        return self._clip(task, out_frames, joined)

    def _input_audio(self, clip: Clip, num_frames: int, fps: float, channels: int) -> np.ndarray:
        """The input clip's audio at the model's rate and layout (silence when it has none)."""
        length = ltx2_audio.num_samples(num_frames, fps, self.sample_rate)
        if clip.audio is None or not clip.sample_rate:
            return np.zeros((channels, length), dtype=np.float32)
        audio = resample_audio(clip.audio, clip.sample_rate, self.sample_rate)
        return ltx2_audio.fit_length(ltx2_audio.match_channels(audio, channels), length)

    # --- one pipeline call -----------------------------------------------------------

    def _run(
        self,
        pipe: Any,
        task: GenerationTask,
        width: int,
        height: int,
        num_frames: int,
        extra: dict[str, Any],
        progress: ProgressFn,
        cancelled: CancelledFn,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Call `pipe`; return uint8 frames and (when task.audio) float32 (channels, samples)."""
        # 1. Options: schedule, prompt enhancement, progress/cancel callback
        enhance = self._enhance_kwargs(pipe, task, with_image=task.kind in ("image", "transition"))
        steps = _StepCallback(progress, cancelled)
        if enhance:
            progress(0.01, "enhancing prompt")
        progress(0.02, "encoding prompt")
        self._activate(pipe)
        # 2. Denoise and decode (a CPU generator gives the same noise on every device)
        generator = torch.Generator("cpu").manual_seed(task.seed)
        common = {
            "prompt": task.prompt,
            "negative_prompt": task.negative_prompt,
            "num_frames": num_frames,
            "frame_rate": float(task.fps),
            **enhance,
            **extra,
        }
        with torch.inference_mode():
            two_stage = runs_two_stage(task.fast, task.width, task.height)
            if self.upsampler is not None and two_stage:
                output = ltx2_two_stage.generate(
                    pipe, self.text_pipe, self.upsampler, common, list(extra),
                    self.schedule.call_kwargs(True), width, height, task.seed, steps,
                )  # fmt: skip
            else:
                output = pipe(
                    **common,
                    height=height,
                    width=width,
                    generator=generator,
                    output_type="pt",
                    callback_on_step_end=steps,
                    callback_on_step_end_tensor_inputs=[],
                    **self.schedule.call_kwargs(task.fast),
                )
        if steps.interrupted or output is None:
            raise Cancelled("cancelled by request")
        # 3. Back to numpy
        frames = to_uint8(output.frames[0])
        if len(frames) != num_frames:  # the pipeline does not check this itself
            raise JobError(f"the model returned {len(frames)} frames instead of {num_frames}")
        audio = None
        if task.audio:
            audio = np.clip(output.audio[0].float().cpu().numpy(), -1.0, 1.0)
        return frames, audio

    def _enhance_kwargs(self, pipe: Any, task: GenerationTask, with_image: bool) -> dict[str, Any]:
        if not task.enhance_prompt or getattr(pipe, "processor", None) is None:
            return {}
        kwargs: dict[str, Any] = {"enable_prompt_enhancement": True}
        if getattr(pipe, "prompt_enhancer", None) is None:
            # LTX-2.0/2.3 enhance with the Gemma 3 text encoder and need a system prompt;
            # LTX-2.5's dedicated enhancer brings its own default.
            from diffusers.pipelines.ltx2.utils import (
                I2V_DEFAULT_SYSTEM_PROMPT,
                T2V_DEFAULT_SYSTEM_PROMPT,
            )

            kwargs["system_prompt"] = (
                I2V_DEFAULT_SYSTEM_PROMPT if with_image else T2V_DEFAULT_SYSTEM_PROMPT
            )
        return kwargs

    def _activate(self, pipe: Any) -> None:
        """With CPU offload, the offload hooks live on the shared modules: install the
        chain of the pipeline about to run (each pipeline has its own module order)."""
        if self.offload and self._offload_owner is not pipe:
            pipe.enable_model_cpu_offload(device=self.device)
            self._offload_owner = pipe

    def _clip(self, task: GenerationTask, frames: np.ndarray, audio: np.ndarray | None) -> Clip:
        """Package frames and audio, the audio lasting exactly as long as the frames."""
        if audio is None:
            return Clip(frames=frames, fps=task.fps)
        length = ltx2_audio.num_samples(len(frames), task.fps, self.sample_rate)
        audio = ltx2_audio.fit_length(audio.astype(np.float32, copy=False), length)
        return Clip(frames=frames, fps=task.fps, audio=audio, sample_rate=self.sample_rate)


class _StepCallback:
    """`callback_on_step_end`: report denoising progress, honour cancellation.

    On cancel it sets the pipeline's interrupt flag: diffusers then skips the remaining
    steps (it still decodes what it has), and `_run` raises `Cancelled` once it returns.
    """

    def __init__(self, progress: ProgressFn, cancelled: CancelledFn):
        self.progress = progress
        self.cancelled = cancelled
        self.interrupted = False
        self.first = 0  # steps of earlier stages (the two-stage path counts across both)
        self.total: int | None = None  # all stages' steps; None: this call's

    def __call__(self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]):
        if self.cancelled():
            pipe._interrupt = True
            self.interrupted = True
            return tensors
        done, total = self.first + step + 1, self.total or pipe.num_timesteps
        self.progress(0.05 + 0.85 * done / total, f"denoising {done}/{total}")
        if done == total:
            self.progress(0.95, "decoding")
        return tensors
