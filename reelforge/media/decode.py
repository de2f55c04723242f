"""Decoding fetched input files: images with Pillow, videos with PyAV.

Both work on a LOCAL file that `reelforge.media.ingest.fetch` wrote, and both refuse
before decoding whatever the header already shows to be too big: the file format is
sniffed from its first bytes (never its name), and only the parser for that one format
ever sees the data (Pillow's `formats=`, PyAV's forced demuxer), which keeps FFmpeg's
network-capable demuxers (HLS, concat, ...) and Pillow's exotic plugins out of reach.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from reelforge.errors import InputError
from reelforge.task import Clip

IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}  # detect_media -> Pillow
VIDEO_DEMUXERS = {"mp4": "mov", "mov": "mov", "webm": "matroska", "matroska": "matroska"}
MAX_FPS = 240

_QUICKTIME_ATOMS = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def detect_media(path: Path) -> str:
    """Sniff a file's format from its first bytes.

    Returns one of "png", "jpeg", "webp", "gif", "bmp", "tiff", "heif", "avif", "mp4",
    "mov", "webm", "matroska", "avi", "hls" (a playlist), or "unknown". The name of the
    file is ignored.
    """
    with Path(path).open("rb") as f:
        head = f.read(64)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI "):
        return "webp" if head[8:12] == b"WEBP" else "avi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U"):
        return "hls"  # a playlist that would make FFmpeg fetch its segments: never opened
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML; WebM says so in its DocType
        return "webm" if b"webm" in head else "matroska"
    if head[4:8] in _QUICKTIME_ATOMS:
        brand = head[8:12] if head[4:8] == b"ftyp" else b""
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "heif"
        if brand in (b"avif", b"avis"):
            return "avif"
        return "mov" if brand in (b"qt  ", b"") else "mp4"
    return "unknown"


# --- images ------------------------------------------------------------------------------


def load_image(path: Path, *, max_pixels: int = 64_000_000) -> Image.Image:
    """Decode a PNG, JPEG or WebP file into an RGB image, upright.

    The format is taken from the file's content. The pixel count is checked from the
    header before any pixel is decoded, so a decompression bomb costs nothing. EXIF
    orientation is applied; transparency is flattened onto white (the first frame of a
    video has no alpha). Raises InputError for any other format, a too-large or a
    damaged image.
    """
    kind = detect_media(path)
    if kind not in IMAGE_FORMATS:
        raise InputError(f"unsupported image format ({_name(kind)}); use PNG, JPEG or WebP")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two bomb limits; here a bomb is an error
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=[IMAGE_FORMATS[kind]])
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise InputError(_too_many_pixels(width, height, max_pixels))
            image.load()
            return _to_rgb(ImageOps.exif_transpose(image))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"image is too large: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"cannot decode the {_name(kind)} image: {exc}") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _too_many_pixels(width: int, height: int, limit: int) -> str:
    return f"image is too large: {width}x{height} is over {limit / 1e6:g} megapixels"


def _name(kind: str) -> str:
    return "unrecognised" if kind == "unknown" else kind.upper()


# --- videos ------------------------------------------------------------------------------


def load_video(
    path: Path,
    *,
    max_pixels_per_frame: int = 3840 * 2160,
    max_frames: int = 3600,
    max_seconds: float = 60.0,
    max_decoded_bytes: int = 4_000_000_000,
) -> Clip:
    """Decode an MP4/MOV or WebM/Matroska file into a Clip.

    Frame size, frame count, duration and the memory the decoded frames will take
    (`max_decoded_bytes`, frames x width x height x 3) are checked from the header
    before decoding and enforced again while decoding (headers can lie). All frames of
    the first video stream become RGB uint8 at the size of the first frame; `fps` is the
    stream's average rate; a display rotation (portrait phone videos) is applied. The
    first audio stream, if any, becomes float32 stereo (channels are up/down-mixed to
    2) at its own sample rate, aligned to the first video frame and padded/trimmed to
    the video's duration.

    A file that is not one of these containers, has no video, or cannot be decoded is an
    InputError. A truncated file is an InputError too when the header says how many
    frames there should be and fewer decode (MP4/MOV always says; WebM often does not,
    in which case the decodable prefix is returned).
    """
    kind = detect_media(path)
    if kind not in VIDEO_DEMUXERS:
        raise InputError(f"unsupported video format ({_name(kind)}); use MP4, MOV or WebM")
    limits = (max_pixels_per_frame, max_frames, max_seconds, max_decoded_bytes)
    try:
        with (
            Path(path).open("rb") as f,
            av.open(f, format=VIDEO_DEMUXERS[kind], metadata_errors="replace") as container,
        ):
            return _decode(container, *limits)
    except InputError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, UnicodeError, IndexError) as exc:
        raise InputError(
            f"cannot decode the {_name(kind)} video (damaged or truncated?): {exc}"
        ) from None


def _decode(container, max_pixels, max_frames, max_seconds, max_bytes) -> Clip:
    if not container.streams.video:
        raise InputError("the file has no video stream")
    video = container.streams.video[0]
    video.thread_type = "AUTO"
    width, height = video.codec_context.width, video.codec_context.height
    rate = video.average_rate or video.guessed_rate
    _check_header(container, video, rate, max_pixels, max_frames, max_seconds, max_bytes)
    frame_cap = min(max_frames, max_bytes // (width * height * 3), int(max_seconds * rate) + 1)
    audio = container.streams.audio[0] if container.streams.audio else None
    frames: list[np.ndarray] = []
    sound = _AudioCollector(audio, max_seconds) if audio is not None else None
    first_time: float | None = None
    rotation = 0  # degrees counter-clockwise, from the display matrix (phone videos)
    for packet in container.demux(*(s for s in (video, audio) if s is not None)):
        for frame in packet.decode():
            if packet.stream is video:
                if first_time is None:
                    first_time, rotation = frame.time, frame.rotation or 0
                if len(frames) >= frame_cap:
                    raise InputError(f"video is too long: more than {frame_cap} frames")
                frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
            elif sound is not None:
                sound.add(frame)
    if not frames:
        raise InputError("the video has no decodable frames")
    if video.frames and len(frames) < video.frames:
        raise InputError(
            f"video is truncated or damaged: {len(frames)} of {video.frames} frames decode"
        )
    samples, sample_rate = (None, None)
    if sound is not None:
        samples, sample_rate = sound.result(first_time or 0.0, len(frames) / float(rate))
    return Clip(_upright(np.stack(frames), rotation), float(rate), samples, sample_rate)


def _upright(frames: np.ndarray, rotation: float) -> np.ndarray:
    """Apply the display rotation (multiples of 90 degrees; mirroring is ignored)."""
    turns = round(rotation / 90) % 4
    if turns == 0:
        return frames
    return np.ascontiguousarray(np.rot90(frames, turns, axes=(1, 2)))


def _check_header(container, video, rate, max_pixels, max_frames, max_seconds, max_bytes):
    width, height = video.codec_context.width, video.codec_context.height
    if width <= 0 or height <= 0:
        raise InputError("the video stream has no picture size")
    if width * height > max_pixels:
        raise InputError(
            f"video is too large: {width}x{height} is over {max_pixels / 1e6:g} megapixels"
        )
    if not rate or not 0 < rate <= MAX_FPS:
        raise InputError(f"video has an unusable frame rate ({rate})")
    if video.duration and video.time_base:
        seconds = float(video.duration * video.time_base)
    else:
        seconds = (container.duration or 0) / av.time_base
    if seconds > max_seconds:
        raise InputError(f"video is too long: {seconds:.1f} s is over {max_seconds:g} s")
    count = video.frames or round(seconds * rate)
    if count > max_frames:
        raise InputError(f"video is too long: {count} frames is over {max_frames}")
    if count * width * height * 3 > max_bytes:
        raise InputError(f"video is too large to decode: {count} frames of {width}x{height}")


class _AudioCollector:
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
