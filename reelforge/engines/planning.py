"""What a generation will cost on the full-size model, planned without torch.

    plan = planning.plan_task(task_kind, width, height, num_frames, fast, schedule)
    plan.stages[0].video_tokens, plan.passes, plan.tflop

The shapes follow diffusers' LTX-2 pipelines (`LTX2Pipeline.__call__`, 0.42.1): latent
frames `(frames - 1) // 8 + 1`, latent height and width `/ 32` of the multiple-of-32
generation size, one video token per latent cell (patch size 1), plus one latent frame of
tokens for a transition's last frame (`LTX2ConditionPipeline` appends keyframes), and
`round(frames / fps * 16000 / 160 / 4)` audio latent frames (the audio VAE's rate, mel hop
and temporal compression). The text side is always padded to 1024 tokens
(`max_sequence_length`). `tests/engines/test_meta_shapes.py` checks all of it against the
pipeline's own code on the meta device, for every kind, quality and duration.

Passes: the default guidance runs 4 transformer passes per step (classifier-free
guidance = 2, spatio-temporal guidance 1, modality isolation 1); distilled weights run 8
fixed sigmas with 1 pass each; the two-stage distilled path runs those 8 at half size
(with the task's conditions), upsamples the latents x2 and refines with 3 more passes at
full size (no conditions: they are in the latents).

TFLOP per pass comes from `architecture/transformer_flops.json` (torch's flop counter on
meta, see `flops.py`): the full-size LTX-2 transformer, whatever checkpoint a worker has
(the tiny test checkpoint costs a tiny fraction of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reelforge.engines import architecture
from reelforge.engines.ltx2_audio import num_samples
from reelforge.engines.ltx2_frames import generation_size
from reelforge.engines.schedule import Schedule

TEXT_TOKENS = 1024  # the pipelines pad every prompt to max_sequence_length
GUIDED_PASSES = 4  # per step with the default guidance (CFG x2, STG, modality isolation)
DISTILLED_STEPS = 8  # len(DISTILLED_SIGMA_VALUES), diffusers pipelines/ltx2/utils.py
STAGE_2_STEPS = 3  # len(STAGE_2_DISTILLED_SIGMA_VALUES)
EXTEND_PREFIX_FRAMES = 17  # = engines.ltx2.EXTEND_PREFIX_FRAMES (that module imports torch)
FPS = 24


@dataclass(frozen=True)
class Stage:
    """One denoising stage: its size and shapes, its steps and their cost."""

    name: str  # "denoise", or "stage 1" / "stage 2" of the two-stage path
    width: int  # generation width in pixels (multiple of 32)
    height: int  # generation height in pixels
    latent: tuple[int, int, int]  # latent frames, height, width
    keyframe_tokens: int  # appended after the latent grid: the condition at the last frame
    audio_latent_frames: int  # audio tokens
    steps: int  # denoising steps
    passes_per_step: int  # transformer passes per step (batch 1 each)
    tflop_per_pass: float  # one batch-1 pass of the full-size transformer

    @property
    def video_tokens(self) -> int:
        return self.latent[0] * self.latent[1] * self.latent[2] + self.keyframe_tokens

    @property
    def passes(self) -> int:
        return self.steps * self.passes_per_step

    @property
    def tflop(self) -> float:
        return self.passes * self.tflop_per_pass


@dataclass(frozen=True)
class Plan:
    """How a task will be generated, and what it costs in transformer work."""

    schedule: str  # "guided", "fast", "distilled" or "two-stage distilled"
    width: int  # final generation width (the mp4 is scaled to the exact output size)
    height: int
    num_frames: int  # frames generated (extend: its 17-frame prefix included)
    audio_samples: int  # at the full-size vocoder's rate
    sample_rate: int
    stages: tuple[Stage, ...]

    @property
    def steps(self) -> int:
        return sum(stage.steps for stage in self.stages)

    @property
    def passes(self) -> int:
        return sum(stage.passes for stage in self.stages)

    @property
    def tflop(self) -> float:
        return sum(stage.tflop for stage in self.stages)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "width": self.width,
            "height": self.height,
            "frames": self.num_frames,
            "audio_samples": self.audio_samples,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
            "transformer_passes": self.passes,
            "tflop": round(self.tflop, 1),
            "stages": [
                {
                    "name": stage.name,
                    "width": stage.width,
                    "height": stage.height,
                    "latent_frames": stage.latent[0],
                    "video_tokens": stage.video_tokens,
                    "audio_tokens": stage.audio_latent_frames,
                    "text_tokens": TEXT_TOKENS,
                    "steps": stage.steps,
                    "passes": stage.passes,
                    "tflop_per_pass": round(stage.tflop_per_pass, 2),
                }
                for stage in self.stages
            ],
        }


def latent_shape(width: int, height: int, num_frames: int) -> tuple[int, int, int]:
    """(latent frames, latent height, latent width) of a generation size."""
    vae = architecture.config("vae")
    spatial, temporal = vae["spatial_compression_ratio"], vae["temporal_compression_ratio"]
    return (num_frames - 1) // temporal + 1, height // spatial, width // spatial


def audio_latent_frames(num_frames: int, fps: float = FPS) -> int:
    audio = architecture.config("audio_vae")
    per_second = audio["sample_rate"] / audio["mel_hop_length"] / 4  # the VAE's 4x in time
    return round(num_frames / fps * per_second)


def tflop_per_pass(video_tokens: int, audio_tokens: int) -> float:
    """TFLOP of one batch-1 pass of the full-size transformer (1024 text tokens)."""
    c = architecture.spec("transformer_flops")["coefficients"]
    nv, na = video_tokens, audio_tokens
    flops = c[0] + c[1] * nv + c[2] * na + c[3] * nv * nv + c[4] * na * na + c[5] * nv * na
    return flops / 1e12


def frames_generated(kind: str, num_frames: int) -> int:
    """Frames the pipeline makes: extend adds its conditioning prefix (at most 17)."""
    return EXTEND_PREFIX_FRAMES + num_frames if kind == "extend" else num_frames


def plan_task(
    kind: str,
    width: int,
    height: int,
    num_frames: int,
    fast: bool,
    schedule: Schedule,
    two_stage: bool = False,
) -> Plan:
    """The plan of a task (the `GenerationTask` fields) under `schedule`; `two_stage`:
    the checkpoint is distilled and has a latent upsampler."""
    frames = frames_generated(kind, num_frames)
    gen_w, gen_h = generation_size(width, height)
    audio = audio_latent_frames(frames)
    rate = int(architecture.config("vocoder")["output_sampling_rate"])

    def stage(
        name: str, w: int, h: int, steps: int, passes: int, conditioned: bool = True
    ) -> Stage:
        latent = latent_shape(w, h, frames)
        # LTX2ConditionPipeline appends a condition at a latent index > 0 (a transition's
        # last frame: one latent frame) as extra tokens; one at index 0 replaces latents
        keyframes = latent[1] * latent[2] if kind == "transition" and conditioned else 0
        tokens = latent[0] * latent[1] * latent[2] + keyframes
        return Stage(
            name, w, h, latent, keyframes, audio, steps, passes, tflop_per_pass(tokens, audio)
        )

    stages: tuple[Stage, ...]
    if schedule.distilled and two_stage:
        half_w, half_h = generation_size(gen_w // 2, gen_h // 2)
        gen_w, gen_h = 2 * half_w, 2 * half_h
        stages = (
            stage("stage 1", half_w, half_h, DISTILLED_STEPS, 1),
            # refines stage 1's latents alone: the conditions are in them already
            stage("stage 2", gen_w, gen_h, STAGE_2_STEPS, 1, conditioned=False),
        )
        name = "two-stage distilled"
    elif schedule.distilled:
        stages, name = (stage("denoise", gen_w, gen_h, DISTILLED_STEPS, 1),), "distilled"
    else:
        steps = schedule.fast_steps if fast else schedule.steps
        stages = (stage("denoise", gen_w, gen_h, steps, GUIDED_PASSES),)
        name = "fast" if fast else "guided"
    return Plan(name, gen_w, gen_h, frames, num_samples(frames, FPS, rate), rate, stages)
