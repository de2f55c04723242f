"""The manifest of a result: exactly what made it (docs/reproducibility.md).

    manifests = Manifests(settings, engine)   # once, when the worker has loaded its engine
    manifests.start()                          # just before engine.generate(task)
    manifest = manifests.build(task)           # just after: the prompt the model saw

What is the same for every job of a worker (the checkpoint's identity, the versions, the
device, dtype, memory mode and attention backend) is computed once; `build` adds the
task's resolved plan, its seed and its prompt. Nothing in it depends on the time, the
worker or the attempt, so two runs of the same request on the same server have equal
manifests. A manifest is JSON: it is kept on the job row and shown with the result.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import platform
import sys
import threading
from pathlib import Path
from typing import Any

from reelforge.engines import Engine
from reelforge.engines.identity import Identity, of_engine
from reelforge.engines.schedule import runs_two_stage
from reelforge.settings import Settings
from reelforge.task import GenerationTask

MANIFEST_VERSION = 1  # bumped when a field changes meaning
VERSIONED = ("reelforge", "diffusers", "transformers", "torch")
GUIDANCE = (
    "guidance_scale",
    "stg_scale",
    "modality_scale",
    "guidance_rescale",
    "audio_guidance_scale",
    "audio_stg_scale",
    "audio_modality_scale",
    "audio_guidance_rescale",
)
PIPELINES = ("text_pipe", "image_pipe", "cond_pipe")  # the LTX-2 engine's three


def versions() -> dict[str, str | None]:
    """The installed versions of what decides the bytes of a result (None: not installed)."""
    found: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def runtime(identity: Identity) -> dict[str, Any]:
    """What a worker tells the fleet (workers.runtime), and what a replay compares: the
    checkpoint's identity and the versions."""
    return {"checkpoint": identity.as_dict(), "versions": versions()}


def file_sha256(path: Path) -> str:
    """sha256 hex of a file's bytes (the stored mp4: what a replay compares)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class Manifests:
    """Builds the manifest of each task one worker's engine runs."""

    def __init__(self, settings: Settings, engine: Engine):
        self.engine = engine
        self.identity = of_engine(engine)  # hashes the checkpoint's files: once per worker
        self.runtime = runtime(self.identity)
        self.static = {
            "manifest_version": MANIFEST_VERSION,
            "checkpoint": self.identity.as_dict(),
            "versions": self.runtime["versions"],
            "engine": _engine_kind(engine),
            "device": _device_kind(str(getattr(engine, "device", "") or "unknown")),
            "dtype": _dtype(engine),
            "memory_mode": _memory_mode(engine),
            "attention_backend": settings.attention_backend or "default",
        }
        self._guidance = _default_guidance(engine)
        self._prompts = _PromptRecorder(engine)

    def start(self) -> None:
        """Forget the prompt recorded for the previous task (call before generating)."""
        self._prompts.reset()

    def build(self, task: GenerationTask) -> dict[str, Any]:
        """The manifest of `task`, just generated (call in the thread that generated it)."""
        enhanced = self._prompts.take()
        return {
            **self.static,
            "plan": self._plan(task),
            "seed": task.seed,
            # the prompt the model was given: composed (style, sound, dialogue woven in),
            # and rewritten by the model's prompt enhancement when that ran
            "prompt": printable(enhanced) if enhanced is not None else task.prompt,
            "prompt_enhanced": enhanced is not None,
            "composed_prompt": task.prompt,
            "negative_prompt": task.negative_prompt,
        }

    def _plan(self, task: GenerationTask) -> dict[str, Any]:
        plan: dict[str, Any] = {
            "kind": task.kind,
            "output_size": {"width": task.width, "height": task.height},
            "frames": task.num_frames,
            "output_frames": task.output_frames,
            "fps": task.fps,
            "audio": task.audio,
            "fast": task.fast,
            "enhance_prompt": task.enhance_prompt,
        }
        own = getattr(self.engine, "manifest_plan", None)
        if callable(own):  # an engine that says how it runs a task (the tests' fake)
            return {**plan, **own(task)}
        schedule = getattr(self.engine, "schedule", None)
        checkpoint = getattr(self.engine, "checkpoint", None)
        if schedule is None or checkpoint is None:
            return plan
        from reelforge.engines import planning  # the LTX-2 engine: its own plan

        resolved = planning.plan_task(
            task.kind,
            task.width,
            task.height,
            task.num_frames,
            task.fast,
            schedule,
            # as the engine decides it (schedule.runs_two_stage), not the checkpoint alone
            two_stage=bool(getattr(checkpoint, "two_stage", False))
            and runs_two_stage(task.fast, task.width, task.height),
        )
        guidance = dict(self._guidance)
        sigmas: Any = None
        if schedule.distilled:
            kwargs = schedule.call_kwargs(task.fast)
            guidance = {name: kwargs[name] for name in GUIDANCE if name in kwargs}
            sigmas = kwargs.get("sigmas")
        if resolved.schedule == "two-stage distilled":
            from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES

            sigmas = {"stage 1": sigmas, "stage 2": list(STAGE_2_DISTILLED_SIGMA_VALUES)}
        return {
            **plan,
            "generation_size": {"width": resolved.width, "height": resolved.height},
            "frames_generated": resolved.num_frames,
            "schedule": resolved.schedule,
            "steps": resolved.steps,
            "sigmas": sigmas,
            "guidance": guidance,
            "stages": [
                {
                    "name": stage.name,
                    "width": stage.width,
                    "height": stage.height,
                    "steps": stage.steps,
                    "passes_per_step": stage.passes_per_step,
                }
                for stage in resolved.stages
            ],  # fmt: skip
        }


class _PromptRecorder:
    """Remembers what the LTX-2 pipelines' prompt enhancement returned, for the manifest:
    diffusers does not hand the rewritten prompt back. Per thread: the device's."""

    def __init__(self, engine: Engine):
        self._local = threading.local()
        for name in PIPELINES:
            pipe = getattr(engine, name, None)
            enhance = getattr(pipe, "enhance_prompt", None)
            if pipe is not None and callable(enhance):
                object.__setattr__(pipe, "enhance_prompt", self._wrap(enhance))

    def _wrap(self, enhance: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            result = enhance(*args, **kwargs)
            if isinstance(result, list) and result and isinstance(result[0], str):
                self._local.prompt = result[0]
            elif isinstance(result, str):
                self._local.prompt = result
            return result

        return recorded

    def reset(self) -> None:
        self._local.prompt = None

    def take(self) -> str | None:
        prompt = getattr(self._local, "prompt", None)
        self._local.prompt = None
        return prompt


def printable(text: str) -> str:
    """`text` with only printable characters (and line breaks and tabs): a model's own
    words (a rewritten prompt) may hold NULs, control characters and U+FFFD from bytes it
    could not decode, and the manifest goes into answers (the OpenAI `metadata`), the
    database and logs. A manifest holds printable text only."""
    return "".join(ch for ch in text if (ch.isprintable() or ch in "\n\t") and ch != "\ufffd")


def _engine_kind(engine: Engine) -> str:
    kind = type(engine)
    return f"{kind.__module__}.{kind.__qualname__}"


def _device_kind(device: str) -> dict[str, str]:
    """The device by name and by make (a GPU's model, or the CPU's architecture)."""
    kind = f"cpu ({platform.machine() or 'unknown'})"
    if device.startswith("cuda") and "torch" in sys.modules:
        torch = sys.modules["torch"]
        try:
            kind = str(torch.cuda.get_device_name(torch.device(device)))
        except Exception:  # a device that cannot be asked: its name alone
            kind = device
    elif not device.startswith("cpu"):
        kind = device
    return {"name": device, "kind": kind}


def _dtype(engine: Engine) -> str | None:
    dtype = getattr(engine, "dtype", None)
    return None if dtype is None else str(dtype).removeprefix("torch.")


def _memory_mode(engine: Engine) -> str | None:
    if getattr(engine, "offload", False):
        return "model_cpu_offload"
    memory = getattr(engine, "memory", None)
    mode = getattr(memory, "mode", None)
    if mode is not None:
        return str(mode)
    own = getattr(engine, "memory_mode", None)
    return None if own is None else str(own)


def _default_guidance(engine: Engine) -> dict[str, Any]:
    """The guidance the LTX-2 pipelines run with (their call's defaults: the engine passes
    none of its own outside the distilled schedule)."""
    pipe = getattr(engine, "text_pipe", None)
    if pipe is None:
        return {}
    parameters = inspect.signature(type(pipe).__call__).parameters
    return {
        name: parameters[name].default
        for name in GUIDANCE
        if name in parameters and parameters[name].default is not inspect.Parameter.empty
    }
