"""What a user checks on a video they got back: open it with PyAV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


@dataclass(frozen=True)
class Opened:
    width: int
    height: int
    frames: int
    duration: float  # frames / fps
    audio_duration: float | None  # None when there is no audio track


def open_mp4(path: Path) -> Opened:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        fps = float(video.average_rate)
        frames = sum(1 for _ in container.decode(video=0))
        audio_duration = None
        if container.streams.audio:
            container.seek(0)
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(audio=0))
            audio_duration = samples / stream.sample_rate
        return Opened(video.width, video.height, frames, frames / fps, audio_duration)


def assert_video(path: Path, width: int, height: int, frames: int, has_audio: bool) -> Opened:
    opened = open_mp4(path)
    assert (opened.width, opened.height) == (width, height)
    assert opened.frames == frames
    assert abs(opened.duration - frames / 24) < 1e-6
    if has_audio:
        assert opened.audio_duration is not None, "expected an audio track"
        # AAC pads to whole 1024-sample packets: within one frame of the video
        assert abs(opened.audio_duration - opened.duration) <= 1 / 24 + 1024 / 48000
    else:
        assert opened.audio_duration is None, "expected no audio track"
    return opened
