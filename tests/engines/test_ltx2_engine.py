"""The LTX-2 engine end to end on a tiny random checkpoint (real diffusers code, no fakes).

The checkpoint (the `tiny_checkpoint` fixture, built once and cached) is loaded through
`from_pretrained`, exactly like real weights. Sizes stay small so the module runs in seconds.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from reelforge.engines.ltx2 import EXTEND_PREFIX_FRAMES, LTX2Engine
from reelforge.engines.ltx2_audio import SEAM_SECONDS, extension_audio
from reelforge.engines.ltx2_frames import generation_size
from reelforge.engines.ltx2_load import Checkpoint, Schedule
from reelforge.errors import Cancelled, JobError
from reelforge.media.conform import cover_frames, resample_audio
from reelforge.settings import Settings
from reelforge.task import Clip, GenerationTask

RATE = 16_000  # the tiny vocoder's output rate


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint) -> Path:
    return tiny_checkpoint


@pytest.fixture(scope="module")
def engine(checkpoint, tmp_path_factory) -> LTX2Engine:
    data_dir = tmp_path_factory.mktemp("data")
    return LTX2Engine(Settings(checkpoint=str(checkpoint), data_dir=data_dir))


def make_task(kind="text", **overrides) -> GenerationTask:
    fields = dict(
        kind=kind,
        prompt="a red fox runs through snow",
        negative_prompt="blurry",
        width=96,
        height=64,
        num_frames=17,
        seed=7,
        audio=True,
    )
    fields.update(overrides)
    return GenerationTask(**fields)


class Recorder:
    """progress() that remembers every event; optionally cancels after some stage."""

    def __init__(self, cancel_after: str | None = None):
        self.events: list[tuple[float, str]] = []
        self.cancel_after = cancel_after

    def __call__(self, fraction: float, stage: str) -> None:
        self.events.append((fraction, stage))

    def cancelled(self) -> bool:
        return self.cancel_after is not None and any(s == self.cancel_after for _, s in self.events)

    @property
    def stages(self) -> list[str]:
        return [stage for _, stage in self.events]


def run(engine: LTX2Engine, task: GenerationTask) -> Clip:
    recorder = Recorder()
    return engine.generate(task, recorder, recorder.cancelled)


def image(color, size=(120, 80)) -> Image.Image:
    return Image.new("RGB", size, color)


def assert_audio_matches_frames(clip: Clip) -> None:
    assert clip.sample_rate == RATE
    assert clip.audio is not None and clip.audio.dtype == np.float32
    assert clip.audio.ndim == 2 and clip.audio.shape[0] == 2
    expected = len(clip.frames) / clip.fps * RATE
    assert abs(clip.audio.shape[1] - expected) <= RATE / clip.fps  # within one frame
    assert np.abs(clip.audio).max() <= 1.0


# --- each kind ------------------------------------------------------------------------


def test_text_to_video_frames_size_and_audio(engine):
    clip = run(engine, make_task())
    assert clip.frames.shape == (17, 64, 96, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == 24
    assert_audio_matches_frames(clip)


def test_audio_off_gives_a_silent_clip(engine):
    clip = run(engine, make_task(audio=False, num_frames=9))
    assert clip.frames.shape[0] == 9
    assert clip.audio is None and clip.sample_rate is None


def test_frames_keep_the_requested_aspect(engine):
    clip = run(engine, make_task(width=330, height=186, num_frames=9))
    assert (clip.width, clip.height) == (320, 192)  # nearest multiples of 32
    assert abs((clip.width / clip.height) / (330 / 186) - 1) < 0.1


def test_image_to_video(engine):
    clip = run(engine, make_task("image", images=(image((200, 30, 30)),), width=64, height=64))
    assert clip.frames.shape == (17, 64, 64, 3)
    assert_audio_matches_frames(clip)


def test_image_to_video_needs_an_image(engine):
    with pytest.raises(JobError):
        run(engine, make_task("image"))


def test_transition(engine):
    images = (image((200, 30, 30)), image((30, 30, 200), size=(64, 96)))
    clip = run(engine, make_task("transition", images=images, num_frames=25))
    assert clip.frames.shape == (25, 64, 96, 3)
    assert_audio_matches_frames(clip)


def test_extend_appends_new_frames_after_the_input(engine):
    tone = np.sin(np.arange(int(20 / 24 * RATE)) * 2 * np.pi * 440 / RATE).astype(np.float32)
    source = Clip(
        frames=np.random.default_rng(0).integers(0, 256, (20, 64, 96, 3), dtype=np.uint8),
        fps=24,
        audio=np.stack([tone, tone]),
        sample_rate=RATE,
    )
    clip = run(engine, make_task("extend", num_frames=16, video=source))
    assert clip.frames.shape == (20 + 16, 64, 96, 3)
    np.testing.assert_array_equal(clip.frames[:20], source.frames)
    assert_audio_matches_frames(clip)
    # the input's audio is kept up to the crossfade at the seam
    keep = source.audio.shape[1] - round(SEAM_SECONDS * RATE)
    np.testing.assert_allclose(clip.audio[:, :keep], source.audio[:, :keep], atol=1e-6)


@pytest.mark.parametrize(("count", "fps", "kept"), [(10, 24, 10), (5, 24, 5), (25, 30, 20)])
def test_extend_fits_the_input_to_size_and_rate_and_fills_missing_audio(engine, count, fps, kept):
    source = Clip(frames=np.full((count, 128, 128, 3), 90, dtype=np.uint8), fps=fps)
    clip = run(engine, make_task("extend", num_frames=8, video=source))
    assert clip.frames.shape == (kept + 8, 64, 96, 3)
    assert_audio_matches_frames(clip)
    silent = int(kept / 24 * RATE) - round(SEAM_SECONDS * RATE)
    assert not clip.audio[:, :silent].any()


def test_extend_cover_crops_the_input_like_the_encoder(engine):
    # one policy (media.conform): a 4:3 input becomes the 3:2 generation size by the same
    # centred crop + Lanczos that encode_mp4 applies, pixel for pixel
    rng = np.random.default_rng(1)
    source = Clip(frames=rng.integers(0, 256, (9, 120, 160, 3), dtype=np.uint8), fps=24)
    clip = run(engine, make_task("extend", num_frames=8, video=source, audio=False))
    np.testing.assert_array_equal(clip.frames[:9], cover_frames(source.frames, 96, 64))


def test_extend_resamples_the_input_audio_to_the_model_rate(engine):
    t = np.arange(round(17 / 24 * 48_000)) / 48_000
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)
    audio = np.stack([left, right]).astype(np.float32)
    source = Clip(np.zeros((17, 64, 96, 3), np.uint8), fps=24, audio=audio, sample_rate=48_000)
    clip = run(engine, make_task("extend", num_frames=8, video=source))
    assert_audio_matches_frames(clip)
    keep = round(17 / 24 * RATE) - round(SEAM_SECONDS * RATE)
    expected = resample_audio(audio, 48_000, RATE)[:, :keep]
    np.testing.assert_allclose(clip.audio[:, :keep], expected, atol=1e-6)


def test_extend_needs_a_multiple_of_8_new_frames(engine):
    source = Clip(frames=np.zeros((9, 64, 96, 3), dtype=np.uint8), fps=24)
    with pytest.raises(JobError):
        run(engine, make_task("extend", num_frames=12, video=source))


# --- determinism, options -------------------------------------------------------------


def test_same_seed_same_clip_other_seed_other_clip(engine):
    first, again = run(engine, make_task()), run(engine, make_task())
    np.testing.assert_array_equal(first.frames, again.frames)
    np.testing.assert_array_equal(first.audio, again.audio)
    other = run(engine, make_task(seed=8))
    assert not np.array_equal(first.frames, other.frames)


@pytest.mark.parametrize("num_frames", [16, 18, 0])
def test_frame_counts_other_than_8k_plus_1_are_refused(engine, num_frames):
    with pytest.raises(JobError, match="8k\\+1"):
        run(engine, make_task(num_frames=num_frames))


def test_fast_runs_fewer_steps(engine):
    normal, fast = Recorder(), Recorder()
    engine.generate(make_task(num_frames=9), normal, normal.cancelled)
    engine.generate(make_task(num_frames=9, fast=True), fast, fast.cancelled)
    assert "denoising 3/3" in normal.stages  # the marker's default_steps
    assert "denoising 2/2" in fast.stages and "denoising 3/3" not in fast.stages


def test_enhance_prompt_rewrites_the_prompt(engine):
    recorder = Recorder()
    enhanced = engine.generate(make_task(enhance_prompt=True), recorder, recorder.cancelled)
    assert "enhancing prompt" in recorder.stages
    assert enhanced.frames.shape == (17, 64, 96, 3)
    assert not np.array_equal(enhanced.frames, run(engine, make_task()).frames)


# --- progress and cancellation --------------------------------------------------------


def test_progress_is_monotone_and_covers_every_stage(engine):
    recorder = Recorder()
    engine.generate(make_task(), recorder, recorder.cancelled)
    fractions = [f for f, _ in recorder.events]
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] <= 1
    assert recorder.stages == [
        "encoding prompt",
        "denoising 1/3",
        "denoising 2/3",
        "denoising 3/3",
        "decoding",
    ]


def test_cancel_stops_denoising_and_raises(engine):
    recorder = Recorder(cancel_after="denoising 1/3")
    with pytest.raises(Cancelled):
        engine.generate(make_task(), recorder, recorder.cancelled)
    assert recorder.stages[-1] == "denoising 1/3"  # no further steps, no decoding reported
    # the engine is still usable afterwards
    assert run(engine, make_task(num_frames=9)).frames.shape[0] == 9


def test_cancel_before_start(engine):
    recorder = Recorder()
    with pytest.raises(Cancelled):
        engine.generate(make_task(), recorder, lambda: True)
    assert recorder.events == []


# --- loading --------------------------------------------------------------------------


def test_without_a_checkpoint_the_tiny_one_is_built_once_and_flagged(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    first = LTX2Engine(Settings(data_dir=tmp_path))
    marker = tmp_path / "checkpoints" / "tiny" / "reelforge.json"
    built_at = marker.stat().st_mtime_ns
    assert "noise" in first.name
    assert "REELFORGE_CHECKPOINT" in caplog.text and "NOISE" in caplog.text
    second = LTX2Engine(Settings(data_dir=tmp_path))
    assert marker.stat().st_mtime_ns == built_at
    assert run(second, make_task(num_frames=9)).frames.shape[0] == 9


def test_the_engine_names_its_device_and_its_memory(engine):
    if torch.cuda.is_available():
        assert engine.device == f"cuda:{torch.cuda.current_device()}"
        assert engine.memory_bytes == torch.cuda.get_device_properties(0).total_memory
    else:
        assert engine.device == "cpu"
        assert engine.memory_bytes == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert engine.device in engine.name


def test_a_missing_checkpoint_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="REELFORGE_CHECKPOINT"):
        LTX2Engine(Settings(checkpoint=str(tmp_path / "nope"), data_dir=tmp_path))


# --- helpers (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((960, 544), (960, 544)),
        ((640, 360), (640, 352)),
        ((1280, 720), (1280, 736)),
        ((30, 20), (64, 64)),
        ((720, 1280), (736, 1280)),
    ],
)
def test_generation_size(size, expected):
    assert generation_size(*size) == expected


def test_distilled_checkpoints_use_the_fixed_sigmas_without_guidance():
    distilled = Checkpoint("diffusers/LTX-2.3-Distilled-Diffusers")
    assert distilled.distilled and not Checkpoint("Lightricks/LTX-2").distilled
    assert not Checkpoint("/x/distilled", {"distilled": False}).distilled
    kwargs = Schedule(steps=30, fast_steps=10, distilled=True).call_kwargs(fast=True)
    assert len(kwargs["sigmas"]) == 8 and kwargs["guidance_scale"] == 1.0
    assert Schedule(30, 10, False).call_kwargs(fast=True) == {"num_inference_steps": 10}


def test_extension_audio_crossfades_at_the_seam():
    head, generated = np.ones((2, 100), np.float32), np.zeros((2, 80), np.float32)
    joined = extension_audio(head, generated, seam=30, fade=10)
    assert joined.shape == (2, 100 + 80 - 30)
    assert joined[0, 89] == 1 and joined[0, 99] == 0 and joined[0, 95] < 1


def test_extend_prefix_is_8k_plus_1():
    assert (EXTEND_PREFIX_FRAMES - 1) % 8 == 0
