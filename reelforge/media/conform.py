"""Bringing pictures and sound to an exact shape: cover-crop to W x H, retime frames to a
frame rate, resample sound to a sample rate, trim a clip to a number of frames.

The one policy for both, used by the engines (conditioning images, an extension's input
video and audio) and by `encode_mp4` (the delivered file), so that a frame or a waveform
comes out the same whichever of them conforms it. NumPy, PIL and PyAV only: no torch.
"""

from __future__ import annotations

import dataclasses
import math

import av
import numpy as np
from PIL import Image

from reelforge.task import Clip

# Cover-crop: cut the centred region of the target's aspect ratio out of the source, then
# scale that region to exactly W x H with Lanczos. Cropping first (rather than scaling to
# cover and cropping the overflow, which the engine used to do) places the crop to the
# nearest *source* pixel, so it stays centred even for tiny outputs (scaling 64x48 to
# cover 2x2 gave 3x2 and kept its left two columns), resamples only the pixels that are
# kept, and when only the aspect differs (a 960x544 render for a 960x540 output) it is an
# exact crop: no resampling, no blur. The encoder cropped first already but scaled inside
# swscale's YUV conversion; both now scale the same RGB pixels with PIL, which costs the
# encoder about 10 ms per resized 720p frame (nothing when it only crops).


def cover_box(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centred src_w x src_h region with the aspect
    ratio of width x height (the whole source when the ratios already match)."""
    if src_w * height > width * src_h:  # source is wider: trim the sides
        keep = max(1, round(src_h * width / height))
        left = (src_w - keep) // 2
        return left, 0, left + keep, src_h
    keep = max(1, round(src_w * height / width))
    top = (src_h - keep) // 2
    return 0, top, src_w, top + keep


def cover_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """An RGB image of exactly width x height: centre-cropped to the aspect, then scaled."""
    image = image.convert("RGB")
    # crop, then resize: `resize(box=...)` would blend in pixels from outside the box
    region = image.crop(cover_box(image.width, image.height, width, height))
    if region.size == (width, height):
        return region
    return region.resize((width, height), Image.Resampling.LANCZOS)


def cover_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """`cover_image` for one uint8 (H, W, 3) frame; returns uint8 (height, width, 3)."""
    left, top, right, bottom = cover_box(frame.shape[1], frame.shape[0], width, height)
    region = frame[top:bottom, left:right]
    if region.shape[:2] == (height, width):
        return region
    picture = Image.fromarray(np.ascontiguousarray(region))
    return np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS))


def cover_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """`cover_frame` for every frame of a uint8 (T, H, W, 3) array."""
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([cover_frame(frame, width, height) for frame in frames])


# Resampling: libswresample (through PyAV), a windowed-sinc FIR filter. The engine used to
# resample with one real FFT over the whole clip, which treats the clip as periodic: unless
# it holds a whole number of cycles, its end rings into its start and the ringing spreads
# over the whole clip (a 0.33 s 440 Hz tone taken from 48 kHz to 16 kHz was off by up to
# 0.03 everywhere; here by 1e-5 away from the clip's two ends). The encoder's copy was this
# filter but took stereo only and came out a few samples short for short inputs: the input
# now gets a tail of silence and the output is cut to exactly the input's duration.
_TAIL = 64  # silence appended to the input, in output samples: more than the filter reaches


def retimed_count(frames: int, fps_in: float, fps_out: float) -> int:
    """How many frames `retime` makes of `frames` frames (the duration kept)."""
    return frames if fps_in == fps_out else max(1, round(frames * fps_out / fps_in))


def retime(frames: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Resample a clip to `fps_out` by picking the nearest frame (keeps its duration)."""
    if fps_in == fps_out:
        return frames
    count = retimed_count(len(frames), fps_in, fps_out)
    index = np.minimum((np.arange(count) * fps_in / fps_out + 0.5).astype(int), len(frames) - 1)
    return frames[index]


def resample_audio(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """float32 (channels, samples) at `rate_in` Hz -> the same channels at `rate_out` Hz.

    Lasts as long as the input: exactly round(samples * rate_out / rate_in) samples, each
    channel resampled on its own, values clipped to [-1, 1]. ValueError for a rate <= 0.
    """
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    audio = np.asarray(audio, dtype=np.float32)
    if rate_in == rate_out or audio.shape[1] == 0:
        return audio
    length = round(audio.shape[1] * rate_out / rate_in)
    tail = _TAIL * math.ceil(rate_in / rate_out)
    padded = np.pad(audio, ((0, 0), (0, tail)))
    out = np.stack([_resample_channel(channel, rate_in, rate_out, length) for channel in padded])
    return np.clip(out, -1.0, 1.0)


def _resample_channel(samples: np.ndarray, rate_in: int, rate_out: int, length: int) -> np.ndarray:
    frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate_out)
    chunks = [f.to_ndarray()[0] for f in resampler.resample(frame)]
    chunks += [f.to_ndarray()[0] for f in resampler.resample(None)]  # flush the filter delay
    out = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return np.pad(out[:length], (0, max(0, length - len(out))))


# Trimming: LTX-2 makes 8k+1 frames, and the OpenAI Videos API promises exactly n seconds
# (24 n frames), so the worker keeps the first 24 n. The sound is cut to the same duration
# (padded with silence where an engine's is short: by at most the one frame's duration
# that `worker.loop._check_clip` allows), so the encoder has nothing left to guess.


def trim(clip: Clip, frames: int) -> Clip:
    """The first `frames` frames of `clip`, its audio (if any) exactly as long:
    round(frames / fps * sample_rate) samples. ValueError unless 1 <= frames <= the
    clip's frames (trimming never makes frames)."""
    if not 1 <= frames <= len(clip.frames):
        raise ValueError(f"cannot keep {frames} frames of a clip of {len(clip.frames)}")
    if clip.audio is None:
        return dataclasses.replace(clip, frames=clip.frames[:frames])
    if not clip.sample_rate:
        raise ValueError("clip has audio but no sample_rate")
    length = round(frames / clip.fps * clip.sample_rate)
    audio = np.asarray(clip.audio)[..., :length]
    short = length - audio.shape[-1]
    if short:
        audio = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, short)])
    return dataclasses.replace(clip, frames=clip.frames[:frames], audio=audio)
