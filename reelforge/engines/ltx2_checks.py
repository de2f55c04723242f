"""Settings the LTX-2 engine cannot run with, found when the worker starts, not mid-job.

    problems = ltx2_checks.check(settings, device)   # [] when everything can work

Each problem is one sentence naming the setting, what is wrong and what works instead;
`worker/startup.py` turns them into the worker's one-line CannotStart.

What is checked:
1. REELFORGE_ATTENTION_BACKEND names a diffusers attention backend that takes an attention
   mask: LTX-2 passes `encoder_attention_mask` to every cross-attention, and flash 2/3/4,
   sage, aiter and the native flash/XLA backends raise "attn_mask is not supported" at the
   first step (diffusers 0.42.1, models/attention_dispatch.py). Then one masked call of
   that backend on the worker's device and dtype, so a missing package (flash-attn,
   sageattention, xformers, kernels) or a CUDA-only kernel on the CPU fails here too.
2. REELFORGE_COMPILE with REELFORGE_MEMORY_MODE=sequential: sequential offload moves
   each module's weights on every call, which a compiled graph cannot keep: refused.
"""

from __future__ import annotations

import warnings
from typing import Any

from reelforge.settings import Settings

# Backends whose kernels take an attention mask (read in diffusers 0.42.1's
# attention_dispatch.py; tests/engines/test_ltx2_checks.py re-reads the installed one).
MASKED_BACKENDS: tuple[str, ...] = (
    "native",
    "flex",
    "flash_varlen",
    "_flash_varlen_3",
    "sage_varlen",
    "xformers",
    "_native_cudnn",
    "_native_efficient",
    "_native_math",
    "_native_npu",
)
CPU_BACKENDS = ("native", "_native_math", "flex")  # the masked ones that run without CUDA


def check(settings: Settings, device: str) -> list[str]:
    """Every problem of `settings` for the LTX-2 engine on `device` ("cpu", "cuda:0")."""
    problems: list[str] = []
    if settings.attention_backend:
        problem = _attention_problem(settings.attention_backend, device, settings.dtype)
        if problem:
            problems.append(problem)
    if settings.compile and settings.memory_mode == "sequential":
        problems.append(
            "REELFORGE_COMPILE=true with REELFORGE_MEMORY_MODE=sequential: sequential offload "
            "moves each module's weights on every call, which torch.compile cannot keep; "
            "turn one of them off"
        )
    return problems


def _attention_problem(name: str, device: str, dtype_name: str) -> str | None:
    import torch
    from diffusers.models.attention_dispatch import AttentionBackendName, dispatch_attention_fn

    known = {backend.value for backend in AttentionBackendName}
    here = CPU_BACKENDS if device == "cpu" else MASKED_BACKENDS
    works = ", ".join(here)
    if name not in known:
        return (
            f"REELFORGE_ATTENTION_BACKEND={name!r} is not a diffusers attention backend; "
            f"LTX-2 works with: {works} (or unset it: native)"
        )
    if name not in MASKED_BACKENDS:
        return (
            f"REELFORGE_ATTENTION_BACKEND={name!r} does not take attention masks, which LTX-2 "
            f"passes to every cross-attention; use one that does: {works}"
        )
    # one masked call on the device, in the dtype the engine will use
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}.get(
        dtype_name, torch.bfloat16 if device.startswith("cuda") else torch.float32
    )
    shape = (1, 8, 2, 64)  # batch, tokens, heads, head dim
    backend = AttentionBackendName(name)
    try:
        _requirements(backend)  # diffusers' own message for a missing package
        query = torch.zeros(shape, device=device, dtype=dtype)
        mask = torch.ones(1, 1, 8, 8, device=device, dtype=torch.bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # flex: "called without torch.compile()"
            dispatch_attention_fn(query, query, query, attn_mask=mask, backend=backend)
    except Exception as exc:  # whatever the kernel raises: the worker must not start
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return (
            f"REELFORGE_ATTENTION_BACKEND={name!r} cannot run on {device} ({reason}); "
            f"backends that take masks here: {works}"
        )
    return None


def _requirements(backend: Any) -> None:
    from diffusers.models import attention_dispatch

    check_requirements = getattr(attention_dispatch, "_check_attention_backend_requirements", None)
    if check_requirements is not None:
        check_requirements(backend)
