"""Clip -> MP4 (H.264 + AAC), the one format every output is delivered in.

Browsers must be able to play the file progressively, so: H.264 High in yuv420p, the
`moov` atom in front (`+faststart`), BT.709 colour tags (HD players assume 709; an
untagged file renders with shifted colours in some of them) and AAC at 48 kHz stereo.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from reelforge.media.conform import cover_frame, resample_audio
from reelforge.task import Clip

AUDIO_RATE = 48_000  # AAC at 48 kHz is what every browser and editor expects
AUDIO_BITRATE = 160_000
# libx264, tuned with bench/encode.py (1080p, 8 s; BENCHMARKS.md) against diffusers'
# `encode_video` (x264's defaults: CRF 23, preset medium, mbtree on): a file no larger at
# no lower SSIM, though mbtree must stay off here (see _add_video_stream). The encode runs
# beside the GPU, not in its way, so preset slow is worth its time. Without mbtree the
# bits are best spent by variance AQ (aq-mode=2) with psy-rd off: psy-rd keeps grain and
# sharpness at a cost in bits and in fidelity to the frames (SSIM).
CRF = "22.8"
PRESET = "slow"
X264_PARAMS = "mbtree=0:aq-mode=2:psy=0"
# NVENC on CUDA workers whose GPU has the encoder: constant quality (VBR, cq, no bit-rate
# cap), preset p6 of p1 (fastest) .. p7 (best), spatial AQ. Not yet measured on a GPU.
NVENC_OPTIONS = {
    "preset": "p6",
    "tune": "hq",
    "rc": "vbr",
    "cq": "26",
    "b": "0",
    "spatial-aq": "1",
    "profile": "high",
}
CODECS = ("libx264", "h264_nvenc")
_AAC_FRAME = 1024  # samples per AAC frame (the encoder's fixed frame size)


def choose_codec(device: str, can_open: Callable[[str], bool] | None = None) -> str:
    """The H.264 encoder for a worker whose engine runs on `device` (torch's name).

    "h264_nvenc" on a CUDA device when it can really be opened there: PyAV's wheels list
    it even on machines without a GPU, and some data-centre GPUs (A100, H100) have no
    NVENC unit. Anything else gets "libx264". `can_open` checks one encoder by name
    (default: open it on a tiny frame, once per process).
    """
    check = can_open or _can_open
    if str(device).startswith("cuda") and check("h264_nvenc"):
        return "h264_nvenc"
    return "libx264"


@functools.cache
def _can_open(name: str) -> bool:
    if name not in av.codecs_available:
        return False
    ctx = av.CodecContext.create(name, "w")
    if not isinstance(ctx, av.VideoCodecContext):
        return False
    ctx.width, ctx.height, ctx.pix_fmt = 256, 256, "yuv420p"
    ctx.time_base = Fraction(1, 24)
    try:
        ctx.open()
    except (av.FFmpegError, OSError, ValueError):
        return False
    return True


def encode_mp4(
    clip: Clip,
    width: int,
    height: int,
    path: Path,
    codec: str = "libx264",
    preset: str = PRESET,
) -> None:
    """Write `clip` to `path` as a browser-ready MP4 of exactly `width` x `height`.

    Every frame is conformed with `media.conform.cover_frame`: centre-cropped to the
    target aspect ratio (a no-op when the ratios already match, a few pixels when the
    engine rendered at the nearest /32 size) and scaled with Lanczos, then encoded with
    `codec` in yuv420p (libx264: CRF 22.8, `preset` (slow unless told), `X264_PARAMS`; h264_nvenc:
    `NVENC_OPTIONS`; `choose_codec` picks one for a device) at exactly `clip.fps` (a
    rational time base, so 24 fps stays exact and the file holds exactly
    `len(clip.frames)` frames). When
    `clip.audio` is set it is made stereo, resampled to 48 kHz with
    `media.conform.resample_audio`, padded with silence or trimmed to the video's duration
    and encoded as AAC.
    `+faststart` puts the index at the front so browsers can start playing at once.

    Raises ValueError for an empty clip, odd/non-positive output sizes or a codec not in
    `CODECS`. A partial file
    is removed when encoding fails.
    """
    _check_args(clip, width, height)
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(CODECS)}, got {codec!r}")
    rate = _rate(clip.fps)
    path = Path(path)
    try:
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = _add_video_stream(out, codec, rate, width, height, preset)
            audio = None
            if clip.audio is not None:
                audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
                audio.bit_rate = AUDIO_BITRATE
            samples = None
            if audio is not None:
                samples = _audio_for(clip, round(len(clip.frames) * AUDIO_RATE / rate))
            _write(out, video, audio, clip.frames, samples, rate)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _check_args(clip: Clip, width: int, height: int) -> None:
    frames = clip.frames
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if len(frames) == 0:
        raise ValueError("cannot encode a clip without frames")
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"output size must be positive and even, got {width}x{height}")
    if clip.audio is not None:
        if not clip.sample_rate:
            raise ValueError("clip has audio but no sample_rate")
        shape = np.shape(clip.audio)
        if len(shape) not in (1, 2) or (len(shape) == 2 and not 1 <= shape[0] <= 8):
            raise ValueError(f"audio must be (channels, samples), got shape {shape}")


def _rate(fps: float) -> Fraction:
    """fps as an exact fraction: 24.0 -> 24, 29.97002997 (30000/1001) -> 30000/1001."""
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return rate


def _add_video_stream(
    out, codec: str, rate: Fraction, width: int, height: int, preset: str = PRESET
):
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = 1 / rate  # one tick per frame: pts = frame index, no rounding
    ctx = stream.codec_context
    ctx.color_primaries, ctx.color_trc, ctx.colorspace = 1, 1, 1  # BT.709 everywhere
    ctx.color_range = 1  # MPEG (limited) range, what swscale produces for yuv420p
    # mbtree off: with it on, libx264 output depended on the process's heap contents (in
    # a worker that has run torch, the same frames encoded twice gave different bytes),
    # which broke "same seed, same video". Costs a little compression, nothing visible.
    if codec == "h264_nvenc":
        stream.options = dict(NVENC_OPTIONS)
    else:
        stream.options = {
            "crf": CRF,
            "preset": preset,
            "profile": "high",
            "x264-params": X264_PARAMS,
        }
    return stream


def _write(out, video, audio, frames: np.ndarray, samples: np.ndarray | None, rate) -> None:
    """Encode frame by frame, emitting the audio that belongs to each frame right after
    it, so the file is interleaved and plays progressively from the first byte."""
    height, width = video.height, video.width
    audio_pos = 0
    for index, rgb in enumerate(frames):
        fitted = np.ascontiguousarray(cover_frame(rgb, width, height))
        frame = av.VideoFrame.from_ndarray(fitted, format="rgb24")
        frame = frame.reformat(
            format="yuv420p",
            dst_colorspace="itu709",
            interpolation="LANCZOS",  # for the chroma subsampling
            dst_color_range="MPEG",
        )
        frame.pts = index
        out.mux(video.encode(frame))
        if samples is not None:
            until = round((index + 1) * AUDIO_RATE / rate)
            audio_pos = _write_audio(out, audio, samples, audio_pos, until)
    out.mux(video.encode(None))
    if samples is not None:
        _write_audio(out, audio, samples, audio_pos, samples.shape[1])
        out.mux(audio.encode(None))


def _audio_for(clip: Clip, n_samples: int) -> np.ndarray:
    """Clip audio as float32 (2, n_samples) at 48 kHz: resampled, then padded/trimmed."""
    audio = np.nan_to_num(np.asarray(clip.audio, dtype=np.float32))
    if audio.ndim == 1:
        audio = audio[None, :]
    audio = np.clip(audio, -1.0, 1.0)
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    elif audio.shape[0] > 2:
        # no layout to go by: keep the first two channels (front left/right in every
        # common layout) rather than guessing a downmix matrix
        audio = audio[:2]
    audio = resample_audio(audio, int(clip.sample_rate or 0), AUDIO_RATE)
    out = np.zeros((2, n_samples), dtype=np.float32)
    keep = min(n_samples, audio.shape[1])
    out[:, :keep] = audio[:, :keep]
    return out


def _write_audio(out, stream, samples: np.ndarray, start: int, until: int) -> int:
    """Encode whole AAC frames of `samples` from `start` while they end by `until` (the
    final partial frame too, once `until` is the end); return the next start."""
    total = samples.shape[1]
    while start < total and (start + _AAC_FRAME <= until or until >= total):
        chunk = np.ascontiguousarray(samples[:, start : start + _AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        out.mux(stream.encode(frame))
        start += chunk.shape[1]
    return start
