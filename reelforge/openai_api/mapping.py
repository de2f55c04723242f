"""How the OpenAI Videos API maps onto Reelforge's endpoints, and back.

    create  (prompt, model, seconds, size, input_reference) -> a pixverse-v6 job
    extend  (prompt, seconds, video)                        -> a pixverse-5-extend job
    remix   (prompt)                                        -> the source's job, new prompt

The job rows are the Pixverse endpoints' own, validated by them; three keys are added
after validation, which no endpoint's schema accepts from a client:
`size` ("WIDTHxHEIGHT", the exact output size the endpoints' plans honour),
`exact_seconds` (true: the output lasts exactly its seconds, 24 frames each, where the
Pixverse endpoints keep LTX-2's 24 n + 1), and `openai` (the model name asked for, the
`seconds` the Video object reports, the remix source). An extension's `duration` is set
to its new seconds after validation (4..20, where pixverse-5-extend itself takes 5 or 8).
Any job, whichever API made it, renders as a `Video` (`video_object`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reelforge.endpoints.fields import show
from reelforge.endpoints.sizes import (
    QUALITIES,
    V6_ASPECTS,
    explicit_size,
    nearest_aspect,
    output_size,
)
from reelforge.errors import BadRequest
from reelforge.jobs import Job, Status

CREATE_SLUG = "pixverse-v6"
EXTEND_SLUG = "pixverse-5-extend"


@dataclass(frozen=True)
class Model:
    """What an OpenAI model name asks of pixverse-v6."""

    thinking_type: str  # pixverse-v6's prompt enhancement: auto / enabled
    about: str  # for the docs and the error message


# sora-2: pixverse-v6's defaults; sora-2-pro: the best Reelforge makes, the same model and
# schedule with prompt enhancement always on. The dated names are the same two.
MODELS: dict[str, Model] = {
    "sora-2": Model("auto", "pixverse-v6 defaults"),
    "sora-2-2025-10-06": Model("auto", "as sora-2"),
    "sora-2-2025-12-08": Model("auto", "as sora-2"),
    "sora-2-pro": Model("enabled", "pixverse-v6, prompt enhancement on"),
    "sora-2-pro-2025-10-06": Model("enabled", "as sora-2-pro"),
    "pixverse-v6": Model("auto", "as sora-2"),
}
DEFAULT_MODEL = "sora-2"
SDK_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
DEFAULT_SIZE = "720x1280"
MIN_SIDE, MAX_SIDE = 64, 1920
MAX_PIXELS = 1920 * 1080  # the largest Pixverse output, 1080p 16:9
CREATE_SECONDS = (1, 15)  # the SDK's 4, 8, 12 and the rest of pixverse-v6's range
EXTEND_SECONDS = (1, 20)  # the SDK's 4, 8, 12, 16, 20 and what lies between
DEFAULT_SECONDS = 4
_SIZE = re.compile(r"\s*([0-9]{1,5})\s*x\s*([0-9]{1,5})\s*")


def model(name: str | None) -> str:
    """The model name, checked; BadRequest naming `model` and the accepted names."""
    name = DEFAULT_MODEL if name is None else name.strip()
    if name not in MODELS:
        accepted = ", ".join(MODELS)
        raise BadRequest(f"model: must be one of {accepted} (got {show(name)})", param="model")
    return name


def size(text: str | None, field: str = "size") -> tuple[int, int]:
    """(width, height) of "WIDTHxHEIGHT"; BadRequest naming `field` and what is allowed."""
    text = DEFAULT_SIZE if text is None else text
    found = _SIZE.fullmatch(text)
    if found:
        width, height = int(found.group(1)), int(found.group(2))
        if _makeable(width, height):
            return width, height
    raise BadRequest(
        f"{field}: must be WIDTHxHEIGHT, both even, each {MIN_SIDE} to {MAX_SIDE}, at most "
        f"{MAX_PIXELS} pixels: {', '.join(SDK_SIZES)} or any other such size "
        f"(got {show(text)})",
        param=field,
    )


def _makeable(width: int, height: int) -> bool:
    sides_ok = all(MIN_SIDE <= side <= MAX_SIDE and side % 2 == 0 for side in (width, height))
    return sides_ok and width * height <= MAX_PIXELS


def seconds(text: str | None, allowed: tuple[int, int]) -> int:
    """Whole seconds within `allowed`; BadRequest naming `seconds`."""
    lo, hi = allowed
    if text is None:
        return DEFAULT_SECONDS
    value = text.strip()
    if value.isdigit() and lo <= int(value) <= hi:
        return int(value)
    raise BadRequest(
        f"seconds: must be a whole number from {lo} to {hi} (4, 8, 12"
        f"{', 16, 20' if hi >= 20 else ''} as the SDK sends them; got {show(text)})",
        param="seconds",
    )


def quality_for(width: int, height: int) -> str:
    """The Pixverse quality nearest the short side: the price table's row."""
    short = min(width, height)
    return min(QUALITIES, key=lambda q: abs(int(q.removesuffix("p")) - short))


def create_fields(
    prompt: str | None, name: str, width: int, height: int, secs: int, image_url: str | None
) -> dict[str, Any]:
    """pixverse-v6's parameters for a create."""
    return {
        "prompt": prompt,
        "duration": secs,
        "quality": quality_for(width, height),
        "aspect_ratio": nearest_aspect(width, height, V6_ASPECTS),
        "image_url": image_url,
        "thinking_type": MODELS[name].thinking_type,
    }


def extend_fields(prompt: str | None, width: int, height: int, video_url: str) -> dict[str, Any]:
    """pixverse-5-extend's parameters for an extension (its duration is set afterwards)."""
    return {"prompt": prompt, "quality": quality_for(width, height), "video_url": video_url}


def add_openai(
    params: dict[str, Any],
    *,
    width: int,
    height: int,
    name: str,
    secs: int,
    remixed_from: str | None = None,
) -> dict[str, Any]:
    """The validated params with the exact size and length, and what the Video object
    reports."""
    params["size"] = f"{width}x{height}"
    params["exact_seconds"] = True  # `seconds=4` is 96 frames, not the Pixverse 97
    params["openai"] = {"model": name, "seconds": str(secs), "remixed_from_video_id": remixed_from}
    return params


# --- a job as a Video -------------------------------------------------------------------

_STATUS = {
    Status.QUEUED: "queued",
    Status.PROCESSING: "in_progress",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
}


def video_object(job: Job) -> dict[str, Any]:
    """The SDK's `Video` for any job, whichever API made it."""
    meta: Mapping[str, Any] = job.params.get("openai") or {}
    facts = job.video or {}
    video: dict[str, Any] = {
        "id": job.id,
        "object": "video",
        "model": meta.get("model") or job.slug,
        "status": _STATUS[job.status],
        "progress": 100 if job.status is Status.COMPLETED else math.floor(job.progress * 100),
        "created_at": int(job.created_at),
        "completed_at": int(job.finished_at) if job.terminal and job.finished_at else None,
        "expires_at": int(job.expires_at),
        "seconds": meta.get("seconds") or _seconds(job, facts),
        "size": _size(job, facts),
        "prompt": job.params.get("prompt"),
        "error": _error(job),
        "remixed_from_video_id": meta.get("remixed_from_video_id"),
    }
    if job.status is Status.COMPLETED:
        # an extension of the Video object (the SDK keeps unknown fields): what made it
        video["metadata"] = {"manifest": job.manifest}
    return video


def _seconds(job: Job, facts: Mapping[str, Any]) -> str:
    if facts.get("duration"):
        return str(round(facts["duration"]))
    return str(job.params.get("duration", ""))


def _size(job: Job, facts: Mapping[str, Any]) -> str:
    if facts.get("width") and facts.get("height"):
        return f"{facts['width']}x{facts['height']}"
    exact = explicit_size(job.params)
    if exact is not None:
        return f"{exact[0]}x{exact[1]}"
    try:  # a Pixverse request not made yet: the size its quality and aspect ask for
        width, height = output_size(
            str(job.params.get("quality")), str(job.params.get("aspect_ratio") or "16:9")
        )
    except ValueError:
        return ""
    return f"{width}x{height}"


def _error(job: Job) -> dict[str, str] | None:
    if job.status is not Status.FAILED:
        return None
    message = job.error or "the generation failed"
    code = "cancelled" if message.startswith("cancelled") else "generation_failed"
    return {"code": code, "message": message}
