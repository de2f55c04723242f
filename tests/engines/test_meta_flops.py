"""Full-size LTX-2 on the meta device: component sizes, and the FLOPs of one transformer
pass counted by torch (`FlopCounterMode`) against the shipped `transformer_flops.json`."""

from __future__ import annotations

import pytest
import torch

from reelforge.engines import architecture, flops, full_size, planning


def test_every_component_builds_on_meta_at_its_published_size():
    billions = {
        name: full_size.parameter_count(full_size.build(name)) / 1e9
        for name in architecture.COMPONENTS
    }
    assert billions["transformer"] == pytest.approx(18.88, abs=0.01)  # "19B"
    assert billions["text_encoder"] == pytest.approx(12.19, abs=0.01)  # Gemma 3 12B
    assert 1.0 < billions["vae"] < 1.5 and 1.0 < billions["connectors"] < 2.0
    for name in ("audio_vae", "vocoder", "latent_upsampler"):
        assert billions[name] < 1.0
    module = full_size.build("vocoder")
    assert {p.device.type for p in module.parameters()} == {"meta"}
    assert {p.dtype for p in module.parameters()} == {torch.bfloat16}


def test_a_config_the_installed_diffusers_cannot_take_is_refused():
    with pytest.raises(ValueError, match="does not take colour"):
        full_size.build("vocoder", colour=1)


def test_shipped_flop_coefficients_are_what_torch_counts_now():
    document = architecture.spec("transformer_flops")
    assert flops.fit()["coefficients"] == document["coefficients"]
    assert document["layers"] == architecture.config("transformer")["num_layers"] == 48


def test_full_48_block_pass_at_540p_5s_is_about_275_tflop():
    plan = planning.plan_task("text", 960, 540, 121, False, planning.Schedule(30, 10, False))
    (stage,) = plan.stages
    assert stage.latent == (16, 17, 30) and stage.audio_latent_frames == 126
    counted = flops.count_pass(stage.latent, stage.audio_latent_frames)
    assert counted / 1e12 == pytest.approx(stage.tflop_per_pass, rel=1e-12)
    assert counted / 1e12 == pytest.approx(275, rel=0.01)
    assert plan.passes == 120 and plan.tflop / 1000 == pytest.approx(33.0, rel=0.01)


def test_benchmarks_md_carries_the_current_flop_table():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("meta_flops", root / "bench" / "meta_flops.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.table() in (root / "BENCHMARKS.md").read_text()


@pytest.mark.parametrize(
    "video, audio",
    [((46, 34, 60), 376), ((16, 17, 30), 143), ((1, 2, 2), 1)],  # 1080p 15 s; extend 540p
)
def test_the_quadratic_holds_away_from_the_fitted_points(video, audio):
    """The counter at 1 and 2 blocks, extended to 48, equals the shipped coefficients."""
    one = flops.count_pass(video, audio, num_layers=1)
    two = flops.count_pass(video, audio, num_layers=2)
    tokens = video[0] * video[1] * video[2]
    assert (one + 47 * (two - one)) / 1e12 == pytest.approx(
        planning.tflop_per_pass(tokens, audio), rel=1e-12
    )
