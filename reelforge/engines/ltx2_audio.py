"""Waveform helpers for the LTX-2 engine: exact lengths, channels and the extend seam.

Resampling is `reelforge.media.conform.resample_audio` (one policy with the encoder).

All arrays are float32 (channels, samples) in [-1, 1], as in `Clip.audio`. NumPy only.
"""

from __future__ import annotations

import numpy as np

SEAM_SECONDS = 0.15  # crossfade where an extension's new audio meets the input's audio


def num_samples(num_frames: int, fps: float, sample_rate: int) -> int:
    """Samples that last exactly as long as `num_frames` frames at `fps`."""
    return round(num_frames / fps * sample_rate)


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim, or pad with silence at the end, to exactly `length` samples."""
    if audio.shape[1] >= length:
        return audio[:, :length]
    pad = np.zeros((audio.shape[0], length - audio.shape[1]), dtype=audio.dtype)
    return np.concatenate([audio, pad], axis=1)


def match_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Mix down to mono and spread it over `channels` when the layouts differ."""
    if audio.shape[0] == channels:
        return audio
    mono = audio.mean(axis=0, keepdims=True)
    return np.repeat(mono, channels, axis=0)


def extension_audio(
    prefix_audio: np.ndarray,
    generated: np.ndarray,
    seam: int,
    fade: int,
) -> np.ndarray:
    """Join the input's audio and a continuation's audio with a crossfade.

    `generated` was produced for the conditioning prefix followed by the new frames; its
    first `seam` samples cover the same time as the last `seam` samples of `prefix_audio`.
    The result is `prefix_audio` followed by `generated[seam:]`, where the last `fade`
    samples of `prefix_audio` blend linearly into the time-aligned generated samples.
    """
    fade = max(0, min(fade, seam, prefix_audio.shape[1]))
    head = prefix_audio.copy()
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        head[:, -fade:] = head[:, -fade:] * (1.0 - ramp) + generated[:, seam - fade : seam] * ramp
    return np.concatenate([head, generated[:, seam:]], axis=1).astype(np.float32)
