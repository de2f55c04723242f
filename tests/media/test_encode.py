"""encode_mp4 + probe: exact size, frame count, duration and audio, checked on the file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from reelforge.media import encode
from reelforge.media.conform import cover_frame
from reelforge.media.encode import choose_codec, encode_mp4
from reelforge.media.ingest import load_video
from reelforge.media.probe import probe
from reelforge.settings import Settings
from reelforge.task import Clip
from tests.media.conftest import TONE_HZ, colour_bars, tone

FRAME = 1 / 24


def test_size_frames_duration_and_audio_are_exact(bars_mp4: Path) -> None:
    facts = probe(bars_mp4)
    assert (facts.width, facts.height) == (960, 540)
    assert facts.frame_count == 121
    assert facts.fps == 24.0
    assert facts.duration == pytest.approx(121 / 24, abs=FRAME)
    assert facts.has_audio
    assert facts.audio_duration == pytest.approx(facts.duration, abs=FRAME)
    assert facts.file_size == bars_mp4.stat().st_size


def test_stream_is_h264_yuv420p_at_exactly_24_fps_with_aac(bars_mp4: Path) -> None:
    with av.open(str(bars_mp4)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert video.average_rate == Fraction(24)
        assert audio.codec_context.name == "aac"
        assert (audio.codec_context.sample_rate, audio.codec_context.channels) == (48000, 2)


def test_faststart_puts_the_index_before_the_media(bars_mp4: Path) -> None:
    data = bars_mp4.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_no_audio_track_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    encode_mp4(Clip(colour_bars(9, 64, 48), 24.0), 128, 96, path)
    facts = probe(path)
    assert (facts.has_audio, facts.audio_duration, facts.frame_count) == (False, None, 9)


@pytest.mark.parametrize(
    ("src", "out"),
    [((63, 47), (640, 360)), ((48, 64), (90, 160)), ((200, 50), (64, 64)), ((64, 48), (2, 2))],
)
def test_any_source_size_becomes_the_exact_output_size(
    tmp_path: Path, src: tuple[int, int], out: tuple[int, int]
) -> None:
    path = tmp_path / "scaled.mp4"
    encode_mp4(Clip(colour_bars(5, *src), 24.0), *out, path)
    facts = probe(path)
    assert (facts.width, facts.height, facts.frame_count) == (*out, 5)


def test_other_aspect_is_centre_cropped_not_squeezed(tmp_path: Path) -> None:
    # 4:1 source: red sides, green middle half; a square output keeps only the green
    frames = np.zeros((3, 50, 200, 3), np.uint8)
    frames[..., 0] = 255
    frames[:, :, 50:150] = (0, 255, 0)
    path = tmp_path / "crop.mp4"
    encode_mp4(Clip(frames, 24.0), 64, 64, path)
    decoded = load_video(path).frames[0].astype(int)
    assert decoded[:, :, 1].min() > 200 and decoded[:, :, 0].max() < 60


def test_frames_are_cover_cropped_like_the_engine_does(tmp_path: Path) -> None:
    # one policy (media.conform): the file shows what cover_frame makes of the frame
    ramp = np.linspace(0, 255, 200)
    frame = np.zeros((50, 200, 3), np.uint8)
    frame[..., 0] = ramp[None, :]
    frame[..., 1] = 255 - ramp[None, :]
    frame[..., 2] = np.linspace(0, 255, 50)[:, None]
    path = tmp_path / "conformed.mp4"
    encode_mp4(Clip(np.stack([frame] * 3), 24.0), 64, 64, path)
    decoded = load_video(path).frames[1].astype(int)
    assert np.abs(decoded - cover_frame(frame, 64, 64).astype(int)).mean() < 3


def test_stereo_audio_keeps_both_channels(tmp_path: Path) -> None:
    left = tone(1.0, 16_000, channels=1)  # 440 Hz
    t = np.arange(16_000) / 16_000
    right = (0.25 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)[None, :]
    clip = Clip(colour_bars(24, 64, 48), 24.0, np.concatenate([left, right]), 16_000)
    path = tmp_path / "stereo.mp4"
    encode_mp4(clip, 64, 48, path)
    audio = load_video(path).audio
    assert audio is not None and audio.shape == (2, 48_000)
    middle = audio[:, 12_000:36_000]
    peaks = np.argmax(np.abs(np.fft.rfft(middle, axis=1)), axis=1) * 48_000 / middle.shape[1]
    assert peaks == pytest.approx([TONE_HZ, 660], abs=2)
    assert np.abs(middle).max(axis=1) == pytest.approx([0.5, 0.25], abs=0.05)


def test_ntsc_rate_stays_exact(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mp4"
    encode_mp4(Clip(colour_bars(10, 64, 48), 30000 / 1001), 64, 48, path)
    with av.open(str(path)) as container:
        assert container.streams.video[0].average_rate == Fraction(30000, 1001)
    assert probe(path).frame_count == 10


@pytest.mark.parametrize("seconds", [0.2, 3.0])  # shorter and longer than the 1 s video
def test_audio_is_padded_or_trimmed_to_the_video(tmp_path: Path, seconds: float) -> None:
    clip = Clip(colour_bars(24, 64, 48), 24.0, tone(seconds, 44_100, channels=1), 44_100)
    path = tmp_path / "mono.mp4"
    encode_mp4(clip, 64, 48, path)
    facts = probe(path)
    assert facts.audio_duration == pytest.approx(1.0, abs=FRAME)


def test_round_trip_keeps_frames_size_and_audio(bars_mp4: Path, bars_clip: Clip) -> None:
    clip = load_video(bars_mp4)
    assert clip.frames.shape == (121, 540, 960, 3)
    assert clip.fps == 24.0
    assert clip.sample_rate == 48000
    assert clip.audio is not None and clip.audio.shape == (2, round(121 / 24 * 48000))
    # the tone survives: same pitch, about the same level
    middle = clip.audio[0, 48000:96000]
    peak_hz = np.argmax(np.abs(np.fft.rfft(middle))) * 48000 / len(middle)
    assert peak_hz == pytest.approx(TONE_HZ, abs=2)
    assert np.abs(middle).max() == pytest.approx(0.5, abs=0.05)
    # the first bar (white) is still white in the middle of its column
    assert clip.frames[0, 270, 30].min() > 230


def test_audio_the_wrong_way_round_is_refused(tmp_path: Path) -> None:
    clip = Clip(colour_bars(2, 8, 8), 24.0, tone(0.1, 16_000).T.copy(), 16_000)
    with pytest.raises(ValueError, match="channels, samples"):
        encode_mp4(clip, 64, 48, tmp_path / "x.mp4")


@pytest.mark.parametrize(
    ("frames", "size", "message"),
    [
        (np.zeros((0, 8, 8, 3), np.uint8), (64, 48), "without frames"),
        (np.zeros((2, 8, 8, 3), np.uint8), (65, 48), "even"),
        (np.zeros((2, 8, 8, 3), np.float32), (64, 48), "uint8"),
    ],
)
def test_bad_arguments_raise_value_error(
    tmp_path: Path, frames: np.ndarray, size: tuple[int, int], message: str
) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(ValueError, match=message):
        encode_mp4(Clip(frames, 24.0), *size, path)
    assert not path.exists()


# --- the codec: libx264 by default, h264_nvenc on a CUDA worker that can open it -------------


@pytest.mark.parametrize("device", ["cpu", "mps", "unknown", ""])
def test_devices_other_than_cuda_get_libx264_even_with_nvenc(device: str) -> None:
    assert choose_codec(device, can_open=lambda name: True) == "libx264"


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_gets_nvenc_when_it_opens(device: str) -> None:
    asked: list[str] = []
    assert choose_codec(device, can_open=lambda name: asked.append(name) or True) == "h264_nvenc"
    assert asked == ["h264_nvenc"]


def test_cuda_without_a_usable_nvenc_gets_libx264() -> None:
    assert choose_codec("cuda:0", can_open=lambda name: False) == "libx264"


def test_the_real_check_on_this_machine() -> None:
    # PyAV's wheels list h264_nvenc even where no GPU can run it: only opening it tells
    nvenc_works = encode._can_open("h264_nvenc")
    assert choose_codec("cuda:0") == ("h264_nvenc" if nvenc_works else "libx264")
    assert choose_codec("cpu") == "libx264"
    assert encode._can_open("libx264")
    assert not encode._can_open("no-such-encoder")


def test_nvenc_stream_carries_its_options_and_the_colour_tags(tmp_path: Path) -> None:
    # building the stream needs no GPU (opening it does): check what it would be given
    with av.open(str(tmp_path / "n.mp4"), "w", format="mp4") as out:
        stream = encode._add_video_stream(out, "h264_nvenc", Fraction(24), 1920, 1080)
        assert stream.codec_context.name == "h264_nvenc"
        assert dict(stream.options) == encode.NVENC_OPTIONS
        assert "mbtree" not in str(stream.options) and "crf" not in stream.options
        ctx = stream.codec_context
        assert (ctx.width, ctx.height, ctx.pix_fmt) == (1920, 1080, "yuv420p")
        assert (ctx.color_primaries, ctx.color_trc, ctx.colorspace) == (1, 1, 1)


def test_libx264_stream_keeps_mbtree_off(tmp_path: Path) -> None:
    with av.open(str(tmp_path / "x.mp4"), "w", format="mp4") as out:
        stream = encode._add_video_stream(out, "libx264", Fraction(24), 64, 48)
        options = dict(stream.options)
    assert options["crf"] == encode.CRF and options["preset"] == encode.PRESET
    assert "mbtree=0" in options["x264-params"]


def test_unknown_codec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    with pytest.raises(ValueError, match="codec must be one of libx264, h264_nvenc"):
        encode_mp4(Clip(colour_bars(2, 64, 48), 24.0), 64, 48, path, codec="libx265")
    assert not path.exists()


def test_same_clip_gives_the_same_bytes(tmp_path: Path, bars_clip: Clip) -> None:
    # "same seed, same video" rests on this (tests/api/test_ltx2_api.py checks it end to end)
    first, again = tmp_path / "a.mp4", tmp_path / "b.mp4"
    for path in (first, again):
        encode_mp4(bars_clip, 320, 240, path, codec="libx264")
    assert first.read_bytes() == again.read_bytes()
    facts = probe(first)
    assert (facts.width, facts.height, facts.frame_count) == (320, 240, 121)
    assert facts.duration == pytest.approx(121 / 24, abs=FRAME)
    assert facts.audio_duration == pytest.approx(facts.duration, abs=FRAME)


def test_a_faster_x264_preset_trades_size_for_cpu(tmp_path: Path) -> None:
    """REELFORGE_X264_PRESET reaches libx264: noise (what random weights make) in
    ultrafast is a valid file of the same frames, larger than in the default preset."""
    rng = np.random.default_rng(0)
    clip = Clip(rng.integers(0, 255, (25, 96, 128, 3), dtype=np.uint8), 24.0)
    sizes = {}
    for preset in (encode.PRESET, "ultrafast"):
        path = tmp_path / f"{preset}.mp4"
        encode_mp4(clip, 128, 96, path, preset=preset)
        info = probe(path)
        assert (info.width, info.height, info.frame_count) == (128, 96, 25)
        sizes[preset] = path.stat().st_size
    assert sizes["ultrafast"] > sizes[encode.PRESET]
    with av.open(str(tmp_path / "u.mp4"), "w", format="mp4") as out:
        stream = encode._add_video_stream(out, "libx264", Fraction(24), 64, 48, "ultrafast")
        assert dict(stream.options)["preset"] == "ultrafast"


def test_the_x264_preset_setting_names_the_allowed_ones() -> None:
    assert Settings(x264_preset="ultrafast").x264_preset == "ultrafast"
    with pytest.raises(ValueError, match="x264_preset") as refused:
        Settings(x264_preset="warp")  # type: ignore[arg-type]
    assert "'veryfast'" in str(refused.value) and "'slow'" in str(refused.value)
