"""Full-size LTX-2 components with random weights, built directly on a device.

Random weights of the real sizes cost exactly the FLOPs and memory real weights do, so
speed and memory can be measured without downloading anything (`bench/gpu.py`,
`reelforge checkpoint random-full --device cuda`), and on the `meta` device (shapes, no
storage) the same builder checks shapes and counts FLOPs on any machine in well under a
second per component.

    build("transformer", "meta")            one component
    build_all("cuda", torch.bfloat16)       every component of `architecture.COMPONENTS`
    parameter_count(module)

The configs are `reelforge/engines/architecture/*.json`, cited there.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import torch

from reelforge.engines import architecture


def build(
    name: str, device: str | torch.device = "meta", dtype: torch.dtype = torch.bfloat16, **changes
) -> Any:
    """Component `name` with random weights, made on `device` in `dtype` (nothing is
    allocated elsewhere first). `changes` override config entries (e.g. num_layers=1)."""
    spec = architecture.spec(name)
    settings = {**architecture.config(name), **changes}
    module_name, _, class_name = spec["class"].rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    with _made_on(torch.device(device), dtype):
        if name == "text_encoder":
            from transformers import Gemma3Config

            module = cls(Gemma3Config(**settings))
        else:
            module = cls(**_accepted(cls, settings))
    return module.eval()


def build_all(
    device: str | torch.device = "meta",
    dtype: torch.dtype = torch.bfloat16,
    names: tuple[str, ...] = architecture.COMPONENTS,
) -> dict[str, Any]:
    """Every component in `names`, by name."""
    return {name: build(name, device, dtype) for name in names}


def parameter_count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def _accepted(cls: type, settings: dict[str, Any]) -> dict[str, Any]:
    """`settings`, refused when the installed class does not know an entry: a config
    this diffusers cannot represent must fail, not be built as something else."""
    known = inspect.signature(cls).parameters
    unknown = sorted(key for key in settings if key not in known)
    if unknown:
        raise ValueError(
            f"{cls.__name__} of this diffusers does not take {', '.join(unknown)}; "
            f"install the diffusers version named in pyproject.toml"
        )
    return settings


@contextlib.contextmanager
def _made_on(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Parameters created on `device` in `dtype` (a 19B transformer made in float32 first
    would need twice its memory)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            yield
    finally:
        torch.set_default_dtype(previous)
