"""The body POST /v2/{slug}/estimate answers (estimate_routes.py), for the OpenAPI
document; the schemathesis test holds every real answer to it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class EstimateStage(BaseModel):
    """One denoising stage of the plan."""

    name: str = Field(description="'denoise', or 'stage 1' / 'stage 2' of the two-stage path")
    width: int
    height: int
    latent_frames: int
    video_tokens: int
    audio_tokens: int
    text_tokens: int
    steps: int
    passes: int = Field(description="transformer passes (batch 1 each)")
    tflop_per_pass: float = Field(description="one pass of the full-size LTX-2 transformer")


class EstimatePlan(BaseModel):
    """How the job would be generated: the full-size model's work."""

    schedule: Literal["guided", "fast", "distilled", "two-stage distilled"]
    width: int = Field(description="generation size; the mp4 is scaled to the output size")
    height: int
    frames: int
    audio_samples: int
    sample_rate: int
    steps: int
    transformer_passes: int
    tflop: float
    stages: list[EstimateStage]


class EstimateBasis(BaseModel):
    """What eta_seconds was made from."""

    basis: Literal["measured", "flops"] = Field(
        description="measured: this fleet's times for this model and size; flops: the "
        "plan's TFLOP over peak_tflops x utilisation"
    )
    queued_ahead: int
    workers: int = Field(description="live workers serving this model")
    run_seconds: float = Field(description="this job's own run, once claimed")
    samples: int | None = None
    step_seconds: float | None = None
    peak_tflops: float | None = None
    utilisation: float | None = None


class Estimate(BaseModel):
    """A submit's price, plan and ETA on this server; no job was made, nothing charged."""

    model: str
    price: float = Field(description="credits a submit of this body would hold")
    params: dict[str, Any] = Field(description="the validated parameters, defaults filled in")
    plan: EstimatePlan
    eta_seconds: float | None = Field(description="null while no live worker serves the model")
    eta: EstimateBasis


MODELS: tuple[type[BaseModel], ...] = (Estimate,)
