"""An input video's sound, gathered while `media.decode.load_video` decodes its frames:
float32 stereo at the stream's own sample rate, aligned to the first video frame."""

from __future__ import annotations

import av
import numpy as np


class AudioCollector:
    """Gathers one audio stream as float32 stereo at its native sample rate."""

    def __init__(self, stream, max_seconds: float):
        self.rate = stream.codec_context.sample_rate or stream.rate
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=self.rate)
        self._chunks: list[np.ndarray] = []
        self._start: float | None = None
        # audio past the longest allowed video is dropped unheard: a short clip with an
        # hour of sound must not fill memory
        self._room = int((max_seconds + 1) * self.rate)

    def add(self, frame) -> None:
        if self._start is None and frame.time is not None:
            self._start = frame.time
        if self._room <= 0:
            return
        for out in self._resampler.resample(frame):
            self._chunks.append(out.to_ndarray())
            self._room -= out.samples

    def result(self, video_start: float, duration: float) -> tuple[np.ndarray, int]:
        """Samples from the first video frame's time, padded/trimmed to `duration`."""
        for out in self._resampler.resample(None):
            self._chunks.append(out.to_ndarray())
        audio = np.concatenate(self._chunks, axis=1) if self._chunks else np.zeros((2, 0))
        offset = round(((self._start or 0.0) - video_start) * self.rate)
        if offset > 0:  # audio starts after the picture: silence until it does
            audio = np.concatenate([np.zeros((2, offset), audio.dtype), audio], axis=1)
        elif offset < 0:
            audio = audio[:, -offset:]
        n = round(duration * self.rate)
        fitted = np.zeros((2, n), dtype=np.float32)
        keep = min(n, audio.shape[1])
        fitted[:, :keep] = audio[:, :keep]
        return fitted, int(self.rate)
