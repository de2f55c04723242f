"""media.conform: the one cover-crop and the one resampler, shared by engine and encoder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from reelforge.media.conform import (
    cover_box,
    cover_frame,
    cover_frames,
    cover_image,
    resample_audio,
    retime,
    retimed_count,
    trim,
)
from reelforge.task import Clip

# --- cover-crop ------------------------------------------------------------------------


def mirrored(width: int, height: int) -> np.ndarray:
    """A uint8 (height, width, 3) frame that is its own left-right and top-bottom mirror,
    with a different value in every column/row pair, so any off-centre crop shows."""
    cols = np.minimum(np.arange(width), np.arange(width)[::-1]) * 255 // max(1, width // 2)
    rows = np.minimum(np.arange(height), np.arange(height)[::-1]) * 255 // max(1, height // 2)
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = cols[None, :]
    frame[..., 1] = rows[:, None]
    return frame


@pytest.mark.parametrize(
    ("src", "out"),
    [((200, 50), (64, 64)), ((50, 200), (64, 64)), ((63, 47), (640, 360)),
     ((1920, 1080), (720, 1280)), ((64, 48), (2, 2)), ((7, 3), (3, 7))],
)  # fmt: skip
def test_a_frame_of_any_aspect_becomes_exactly_the_size(src, out) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    fitted = cover_frame(frame, *out)
    assert fitted.shape == (out[1], out[0], 3) and fitted.dtype == np.uint8


@pytest.mark.parametrize(
    ("src", "out"),
    [((200, 50), (64, 64)), ((50, 200), (64, 64)), ((64, 48), (2, 2)),
     ((300, 100), (96, 64)), ((100, 300), (64, 96))],
)  # fmt: skip
def test_the_crop_is_centred(src, out) -> None:
    fitted = cover_frame(mirrored(*src), *out).astype(int)
    # a mirror-symmetric source stays mirror-symmetric: nothing was cut off one side only
    assert np.abs(fitted - fitted[:, ::-1]).max() <= 1
    assert np.abs(fitted - fitted[::-1]).max() <= 1


def test_other_aspect_is_cropped_not_squeezed() -> None:
    # 4:1 source: red sides, green middle half; a square output keeps only the green
    frame = np.zeros((50, 200, 3), np.uint8)
    frame[..., 0] = 255
    frame[:, 50:150] = (0, 255, 0)
    fitted = cover_frame(frame, 64, 64)
    assert (fitted == (0, 255, 0)).all()


def test_an_aspect_only_change_is_an_exact_crop() -> None:
    # the engine renders 960x544 for a 960x540 output: 2 rows off each side, no resampling
    frame = np.random.default_rng(1).integers(0, 256, (544, 960, 3), dtype=np.uint8)
    np.testing.assert_array_equal(cover_frame(frame, 960, 540), frame[2:542])
    assert cover_box(960, 544, 960, 540) == (0, 2, 960, 542)


def test_the_right_size_passes_through_untouched() -> None:
    frames = np.random.default_rng(2).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)
    assert cover_frames(frames, 64, 48) is frames
    np.testing.assert_array_equal(cover_frame(frames[0], 64, 48), frames[0])


def test_images_and_frames_get_the_same_pixels() -> None:
    frames = np.random.default_rng(3).integers(0, 256, (2, 80, 120, 3), dtype=np.uint8)
    fitted = cover_frames(frames, 64, 64)
    assert fitted.shape == (2, 64, 64, 3)
    for frame, expected in zip(frames, fitted, strict=True):
        image = cover_image(Image.fromarray(frame), 64, 64)
        assert image.size == (64, 64)
        np.testing.assert_array_equal(np.asarray(image), expected)


def test_images_of_any_mode_come_out_rgb() -> None:
    for mode in ("RGBA", "L", "P"):
        image = cover_image(Image.new(mode, (120, 80)), 96, 64)
        assert (image.mode, image.size) == ("RGB", (96, 64))


# --- resampling -------------------------------------------------------------------------


def tones(seconds: float, rate: int) -> np.ndarray:
    """Stereo with two different channels: 440 Hz left, 660 Hz at half the level right."""
    t = np.arange(round(seconds * rate)) / rate
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right]).astype(np.float32)


def peak_hz(channel: np.ndarray, rate: int) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(channel))) * rate / len(channel))


def test_16k_to_48k_keeps_duration_channels_and_pitch() -> None:
    audio = tones(1.2345, 16_000)
    out = resample_audio(audio, 16_000, 48_000)
    assert out.dtype == np.float32
    assert out.shape == (2, audio.shape[1] * 3)  # the same duration, to the sample
    assert peak_hz(out[0], 48_000) == pytest.approx(440, abs=1)
    assert peak_hz(out[1], 48_000) == pytest.approx(660, abs=1)
    middle = out[:, 12_000:36_000]
    assert np.abs(middle).max(axis=1) == pytest.approx([0.5, 0.25], abs=0.01)


@pytest.mark.parametrize(("rate_in", "rate_out"), [(16_000, 48_000), (48_000, 16_000),
                         (44_100, 48_000), (48_000, 24_000), (22_050, 48_000)])  # fmt: skip
def test_a_clip_that_is_not_a_whole_number_of_cycles_resamples_cleanly(rate_in, rate_out) -> None:
    # 0.3337 s of 440 Hz ends mid-cycle: a whole-clip FFT resampler rings from end to start
    audio = tones(0.3337, rate_in)
    out = resample_audio(audio, rate_in, rate_out)
    ideal = tones(audio.shape[1] / rate_in, rate_out)
    assert out.shape == ideal.shape
    # away from where the clip starts and stops abruptly, the output is the tone
    assert np.abs(out - ideal)[:, 64:-64].max() < 1e-3


@pytest.mark.parametrize(("rate_in", "rate_out"), [(16_000, 48_000), (48_000, 16_000),
                         (44_100, 48_000), (48_000, 8_000)])  # fmt: skip
def test_even_a_few_samples_keep_their_duration(rate_in, rate_out) -> None:
    for length in (1, 2, 7, 31, 90, 1001):
        audio = np.full((2, length), 0.1, np.float32)
        out = resample_audio(audio, rate_in, rate_out)
        assert out.shape == (2, round(length * rate_out / rate_in))


def test_same_rate_and_empty_audio_are_unchanged() -> None:
    audio = tones(0.1, 16_000)
    np.testing.assert_array_equal(resample_audio(audio, 16_000, 16_000), audio)
    assert resample_audio(np.zeros((2, 0), np.float32), 16_000, 48_000).shape == (2, 0)


def test_any_channel_count_and_values_stay_in_range() -> None:
    loud = np.sign(tones(0.2, 16_000)[:1])  # full-scale square wave: the filter overshoots
    six = np.concatenate([loud] * 6)
    out = resample_audio(six, 16_000, 48_000)
    assert out.shape == (6, 9_600)
    assert np.abs(out).max() <= 1.0


def test_a_rate_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="sample rates"):
        resample_audio(tones(0.1, 16_000), 0, 48_000)


@pytest.mark.parametrize(
    ("frames", "fps_in", "fps_out"),
    [(48, 24, 24), (45, 30, 24), (25, 30, 24), (7, 12, 24), (1, 60, 24), (121, 25, 24)],
)
def test_retimed_count_is_what_retime_makes(frames: int, fps_in: float, fps_out: float) -> None:
    clip = np.arange(frames)
    assert retimed_count(frames, fps_in, fps_out) == len(retime(clip, fps_in, fps_out))
    # the duration is kept to within one output frame
    assert abs(retimed_count(frames, fps_in, fps_out) / fps_out - frames / fps_in) <= 1 / fps_out


# --- trimming --------------------------------------------------------------------------


def numbered(frames: int, rate: int | None, samples: int | None) -> Clip:
    """A 24 fps clip whose frames and samples carry their own index, so a cut shows where."""
    video = np.zeros((frames, 4, 6, 3), np.uint8)
    video[:, 0, 0, 0] = np.arange(frames) % 256
    if rate is None or samples is None:
        return Clip(frames=video, fps=24.0)
    audio = np.stack([np.arange(samples), -np.arange(samples)]).astype(np.float32) / samples
    return Clip(frames=video, fps=24.0, audio=audio, sample_rate=rate)


@pytest.mark.parametrize(
    ("made", "kept", "rate"),
    [(97, 96, 16_000), (97, 96, 48_000), (25, 24, 24_000), (289, 288, 44_100)],
)
def test_trim_keeps_the_first_frames_and_exactly_their_sound(made, kept, rate) -> None:
    # LTX-2's 24 n + 1 frames -> the OpenAI API's 24 n, the sound cut to n seconds
    clip = numbered(made, rate, round(made / 24 * rate))
    cut = trim(clip, kept)
    assert (len(cut.frames), cut.fps, cut.sample_rate) == (kept, 24.0, rate)
    np.testing.assert_array_equal(cut.frames, clip.frames[:kept])
    assert cut.audio is not None and clip.audio is not None
    assert cut.audio.shape == (2, round(kept / 24 * rate))  # 4 s at 16 kHz: 64 000
    np.testing.assert_array_equal(cut.audio, clip.audio[:, : cut.audio.shape[1]])
    assert cut.duration == cut.audio.shape[1] / rate == kept / 24


def test_an_extension_is_kept_whole_and_short_sound_padded_to_its_length() -> None:
    # 48 input frames and 96 new ones, all kept; the engine's sound 100 samples short
    # (within the frame the worker's check allows) gets that much silence at the end
    clip = numbered(48 + 96, 16_000, 6 * 16_000 - 100)
    cut = trim(clip, 48 + 96)
    assert len(cut.frames) == 144 and cut.duration == 6.0
    assert cut.audio is not None and clip.audio is not None
    assert cut.audio.shape == (2, 96_000)
    np.testing.assert_array_equal(cut.audio[:, :-100], clip.audio)
    assert not cut.audio[:, -100:].any()


def test_a_silent_clip_stays_silent_and_trimming_never_makes_frames() -> None:
    cut = trim(numbered(25, None, None), 24)
    assert (len(cut.frames), cut.audio, cut.sample_rate) == (24, None, None)
    for frames in (0, 26):
        with pytest.raises(ValueError, match=f"cannot keep {frames} frames of a clip of 25"):
            trim(numbered(25, None, None), frames)
