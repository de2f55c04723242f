"""Where the weights live: one memory mode per worker, chosen from the device's memory and
the checkpoint's size (or REELFORGE_MEMORY_MODE), logged, and shown by `reelforge status`
(it is part of the engine's name in the fleet table).

    resident              every component on the device in bf16 (fastest)
    offload_text_encoder  the text encoder moves to the device to encode the prompt, then
                          back to the CPU before the transformer runs (accelerate hooks)
    fp8 / int8            the transformer's weights in float8 / int8 (torchao, weight-only;
                          fp8 needs an Ada/Hopper GPU), every other component group-offloaded
                          (diffusers `enable_group_offload`, onloaded block by block)
    sequential            diffusers' sequential CPU offload: each layer visits the device
                          only while it runs (slowest; the last resort)

`auto` takes the first mode, in that order, whose estimated peak fits in 90 % of the
device's memory. The estimate is the weights the mode keeps on the device at once plus a
working margin for activations (ACTIVATIONS_FRACTION of the transformer, at least 2 GiB):
an estimate, not a measurement (bench/gpu.py measures the real peak on a GPU).
On the CPU `auto` is `resident` (there is nothing to offload to); a mode set explicitly
runs its real code path there too, which is how the tests cover each of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MODES = ("resident", "offload_text_encoder", "fp8", "int8", "sequential")
FIT = 0.9  # the share of device memory a mode's estimated peak may take
ACTIVATIONS_FRACTION = 0.25
MIN_ACTIVATIONS = 2 * 2**30
GiB = 2**30


@dataclass(frozen=True)
class Sizes:
    """Bytes of the loaded weights, by role."""

    transformer: int
    text_encoder: int
    rest: int  # VAEs, vocoder, connectors (and a latent upsampler)
    largest_layer: int  # the biggest single parameter tensor (sequential offload's floor)

    @classmethod
    def of(cls, pipe: Any) -> Sizes:
        def size(module: Any) -> int:
            if module is None:
                return 0
            return sum(p.numel() * p.element_size() for p in module.parameters())

        transformer, text_encoder = size(pipe.transformer), size(pipe.text_encoder)
        rest_names = ("vae", "audio_vae", "vocoder", "connectors")
        rest = sum(size(getattr(pipe, name, None)) for name in rest_names)
        largest = max(
            (p.numel() * p.element_size() for p in pipe.transformer.parameters()), default=0
        )
        return cls(transformer, text_encoder, rest, largest)


@dataclass(frozen=True)
class Choice:
    mode: str
    peak_bytes: int  # estimated
    reason: str  # why this mode (logged)

    def describe(self) -> str:
        return f"memory mode {self.mode} (peak ~{self.peak_bytes / GiB:.1f} GiB, estimated)"


def estimated_peak(mode: str, sizes: Sizes) -> int:
    """Bytes on the device at once in `mode` (weights in their loaded dtype)."""
    activations = max(MIN_ACTIVATIONS, int(ACTIVATIONS_FRACTION * sizes.transformer))
    if mode == "resident":
        return sizes.transformer + sizes.text_encoder + sizes.rest + activations
    if mode == "offload_text_encoder":
        encoding = sizes.text_encoder + sizes.rest
        return max(encoding, sizes.transformer + sizes.rest) + activations
    if mode in ("fp8", "int8"):  # 1 byte per weight instead of 2; the rest onloaded per block
        return sizes.transformer // 2 + sizes.largest_layer + activations
    if mode == "sequential":
        return 2 * sizes.largest_layer + activations
    raise ValueError(f"unknown memory mode {mode!r}; known: {', '.join(MODES)}")


def choose(setting: str, device: str, memory_bytes: int | None, sizes: Sizes) -> Choice:
    """The mode for `setting` ("auto" or one of MODES) on `device`."""
    if setting != "auto":
        if setting not in MODES:
            raise ValueError(f"REELFORGE_MEMORY_MODE={setting!r}: must be auto or one of {MODES}")
        return Choice(setting, estimated_peak(setting, sizes), "REELFORGE_MEMORY_MODE")
    if device == "cpu" or memory_bytes is None:
        return Choice("resident", estimated_peak("resident", sizes), "the CPU: nothing to offload")
    budget = FIT * memory_bytes
    for mode in ("resident", "offload_text_encoder", _eight_bit(device), "sequential"):
        peak = estimated_peak(mode, sizes)
        if peak <= budget or mode == "sequential":
            fits = "fits" if peak <= budget else "does not fit either: the last resort"
            reason = f"{peak / GiB:.1f} GiB {fits} in {budget / GiB:.1f} GiB ({FIT:.0%})"
            return Choice(mode, peak, reason)
    raise AssertionError("unreachable")


def _eight_bit(device: str) -> str:
    """fp8 where the GPU has float8 matmuls (compute capability 8.9+), else int8."""
    import torch

    if device.startswith("cuda") and torch.cuda.get_device_capability(device) >= (8, 9):
        return "fp8"
    return "int8"


def apply(mode: str, pipe: Any, device: str) -> None:
    """Put `pipe`'s modules where `mode` says (`pipe` loaded on the CPU, not moved yet).
    The three LTX-2 pipelines share these modules, so this is done once."""
    import torch

    if mode == "resident":
        pipe.to(device)
        return
    if mode == "offload_text_encoder":
        from accelerate import cpu_offload_with_hook

        pipe.to(device)
        pipe.text_encoder.to("cpu")
        # the encoder's hook moves it in when called; the connectors' hook (they run next)
        # moves it out again before the transformer runs
        _, encoder_hook = cpu_offload_with_hook(pipe.text_encoder, torch.device(device))
        cpu_offload_with_hook(pipe.connectors, torch.device(device), prev_module_hook=encoder_hook)
        return
    if mode in ("fp8", "int8"):
        _quantize(pipe.transformer, mode)
        pipe.transformer.to(device)
        from diffusers.hooks import apply_group_offloading

        for name in ("text_encoder", "connectors", "vae", "audio_vae", "vocoder"):
            module = getattr(pipe, name, None)
            if module is not None:  # diffusers' hooks work on any nn.Module (Gemma too)
                apply_group_offloading(
                    module, onload_device=torch.device(device), offload_type="leaf_level"
                )
        return
    if mode == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
        return
    raise ValueError(f"unknown memory mode {mode!r}; known: {', '.join(MODES)}")


def _quantize(transformer: Any, mode: str) -> None:
    """Weight-only int8 / float8 of every linear layer (torchao's configs, the ones
    diffusers' TorchAoConfig wraps)."""
    try:
        from torchao.quantization import (
            Float8WeightOnlyConfig,
            Int8WeightOnlyConfig,
            quantize_,
        )
    except ImportError as exc:
        raise ValueError(
            f"REELFORGE_MEMORY_MODE={mode} needs the torchao package: pip install torchao"
        ) from exc
    config = Int8WeightOnlyConfig() if mode == "int8" else Float8WeightOnlyConfig()
    quantize_(transformer, config)
