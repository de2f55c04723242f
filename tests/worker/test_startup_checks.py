"""Settings the LTX-2 engine cannot run with stop the worker at start, in one line naming
the setting and what works, before any weights load (engines/ltx2_checks.py)."""

from __future__ import annotations

import inspect
import time

import pytest

from reelforge.engines import ltx2_checks
from reelforge.settings import Settings
from reelforge.worker.startup import CannotStart, load_engine
from tests.worker.test_startup import run_reelforge


@pytest.mark.parametrize(
    "backend, says",
    [
        ("flash", "does not take attention masks"),
        ("sage", "does not take attention masks"),
        ("_native_flash", "does not take attention masks"),
        ("flashy", "is not a diffusers attention backend"),
        ("xformers", "cannot run on cpu"),
        ("sage_varlen", "cannot run on cpu"),
    ],
)
def test_an_unworkable_attention_backend_stops_the_worker_before_loading(tmp_path, backend, says):
    settings = Settings(data_dir=tmp_path, attention_backend=backend, device="cpu")
    started = time.monotonic()
    with pytest.raises(CannotStart) as caught:
        load_engine(settings)
    message = str(caught.value)
    assert message.startswith(f"REELFORGE_ATTENTION_BACKEND={backend!r}") and says in message
    assert "native, _native_math, flex" in message and "\n" not in message
    assert time.monotonic() - started < 10  # nothing was loaded (no tiny checkpoint built)
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize("backend", ["native", "_native_math", "flex"])
def test_the_masked_backends_pass_on_cpu(backend):
    assert ltx2_checks.check(Settings(attention_backend=backend), "cpu") == []


def test_compile_with_sequential_offload_is_refused():
    problems = ltx2_checks.check(Settings(compile=True, memory_mode="sequential"), "cpu")
    assert problems
    assert "REELFORGE_COMPILE=true with REELFORGE_MEMORY_MODE=sequential" in problems[0]


def test_the_masked_list_is_what_the_installed_diffusers_does():
    """Re-read attention_dispatch: a backend refuses masks iff its kernel says so."""
    from diffusers.models.attention_dispatch import AttentionBackendName
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry as registry

    refusing = {
        backend.value
        for backend in AttentionBackendName
        if "attn_mask` is not" in inspect.getsource(registry._backends[backend])
    }
    accepting = {backend.value for backend in AttentionBackendName} - refusing
    assert accepting == set(ltx2_checks.MASKED_BACKENDS)
    assert {"flash", "sage", "_flash_3", "flash_4_hub"} <= refusing


def test_reelforge_worker_exits_with_the_line(tmp_path):
    code, lines, _ = run_reelforge(tmp_path, "worker", REELFORGE_ATTENTION_BACKEND="flash")
    assert code != 0
    assert any("REELFORGE_ATTENTION_BACKEND='flash' does not take attention masks" in line
               for line in lines), lines  # fmt: skip
    assert not any("Traceback" in line for line in lines)
