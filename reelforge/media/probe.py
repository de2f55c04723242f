"""Facts about a video file, read with PyAV without decoding pictures."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from reelforge.errors import InputError
from reelforge.media.decode import VIDEO_DEMUXERS, detect_media


@dataclass(frozen=True)
class VideoFacts:
    """What `probe` found in a file."""

    width: int  # pixels, of the first video stream
    height: int  # pixels
    fps: float  # average frame rate of the video stream
    frame_count: int  # video frames in the file (from the header, else counted)
    duration: float  # seconds of video: frame_count / fps
    has_audio: bool  # the file has at least one audio stream
    audio_duration: float | None  # seconds of the first audio stream; None without audio
    file_size: int  # bytes on disk


def probe(path: Path) -> VideoFacts:
    """Describe the video file at `path`.

    The frame count comes from the container's index when it has one (MP4 does) and
    otherwise from demuxing every video packet, which is fast because nothing is decoded.
    The audio duration is the stream's own duration when stated, else the sum of its
    packet durations. Raises InputError when the file cannot be read or has no video.
    """
    path = Path(path)
    demuxer = VIDEO_DEMUXERS.get(detect_media(path))
    if demuxer is None:  # same allow-list as load_video: never let FFmpeg guess
        raise InputError(f"{path.name} is not an MP4, MOV or WebM video")
    try:
        with av.open(str(path), format=demuxer) as container:
            return _facts(container, path.stat().st_size)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"cannot read video {path.name}: {exc}") from None


def _facts(container, file_size: int) -> VideoFacts:
    if not container.streams.video:
        raise InputError("file has no video stream")
    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    rate = video.average_rate or video.guessed_rate or video.base_rate
    if not rate:
        raise InputError("video stream has no frame rate")
    frame_count = video.frames
    audio_duration = _seconds(audio.duration, audio.time_base) if audio else None
    if not frame_count or (audio is not None and audio_duration is None):
        counted, audio_ticks = _demux_counts(container, video, audio)
        frame_count = frame_count or counted
        if audio is not None and audio_duration is None:
            audio_duration = _seconds(audio_ticks, audio.time_base)
    return VideoFacts(
        width=video.codec_context.width,
        height=video.codec_context.height,
        fps=float(rate),
        frame_count=frame_count,
        duration=frame_count / float(rate),
        has_audio=audio is not None,
        audio_duration=audio_duration,
        file_size=file_size,
    )


def _demux_counts(container, video, audio) -> tuple[int, int]:
    """(video packets, summed audio packet durations in its time base)."""
    frames = ticks = 0
    streams = [s for s in (video, audio) if s is not None]
    for packet in container.demux(*streams):
        if packet.size == 0:  # the demuxer's end-of-stream flush packet
            continue
        if packet.stream is video:
            frames += 1
        elif packet.duration:
            ticks += packet.duration
    return frames, ticks


def _seconds(ticks: int | None, time_base: Fraction | None) -> float | None:
    if not ticks or time_base is None:
        return None
    return float(ticks * time_base)
