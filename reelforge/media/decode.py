"""Decoding fetched input files: images with Pillow, videos with PyAV.

Both work on a LOCAL file that `reelforge.media.ingest.fetch` wrote, and both refuse
before decoding whatever the header already shows to be too big: the file format is
sniffed from its first bytes (never its name), and only the parser for that one format
ever sees the data (Pillow's `formats=`, PyAV's forced demuxer), which keeps FFmpeg's
network-capable demuxers (HLS, concat, ...) and Pillow's exotic plugins out of reach.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from reelforge.errors import InputError, InputTooLarge
from reelforge.media.audio_decode import AudioCollector
from reelforge.task import Clip

IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}  # detect_media -> Pillow
VIDEO_DEMUXERS = {"mp4": "mov", "mov": "mov", "webm": "matroska", "matroska": "matroska"}
MAX_FPS = 240
# a video input's limits unless the caller gives its own (the worker: its settings)
MAX_PIXELS_PER_FRAME = 3840 * 2160
MAX_FRAMES = 3600
MAX_SECONDS = 60.0
MAX_DECODED_BYTES = 1_000_000_000  # all frames, at the size the job needs

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


def load_image(
    path: Path, *, size_for: SizeFor | None = None, max_pixels: int = 64_000_000
) -> Image.Image:
    """Decode a PNG, JPEG or WebP file into an RGB image, upright.

    The format is taken from the file's content. The pixel count is checked from the
    header before any pixel is decoded, so a decompression bomb costs nothing. EXIF
    orientation is applied; transparency is flattened onto white (the first frame of a
    video has no alpha). With `size_for` (as for `load_video`) the image is scaled down
    to the smallest size that covers what the job makes of it; a JPEG is decoded at a
    fraction of its size straight away (`draft`) when that still covers it. Raises
    InputError for any other format, a too-large or a damaged image.
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
            wanted = None  # what the job makes of the upright picture
            if size_for is not None:
                turned = _stored_on_its_side(image)
                wanted = size_for(height, width) if turned else size_for(width, height)
                if kind == "jpeg":  # decoded at 1/2, 1/4 or 1/8 of its size when that covers
                    stored = (wanted[1], wanted[0]) if turned else wanted
                    image.draft("RGB", decoded_size(width, height, stored))
            image.load()
            upright = _to_rgb(ImageOps.exif_transpose(image))
            if wanted is None:
                return upright
            size = decoded_size(*upright.size, wanted)
            if size == upright.size:
                return upright
            return upright.resize(size, Image.Resampling.LANCZOS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"image is too large: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"cannot decode the {_name(kind)} image: {exc}") from None


def _stored_on_its_side(image: Image.Image) -> bool:
    """Whether EXIF says the picture is stored on its side (orientations 5 to 8)."""
    try:
        return image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:  # an unreadable EXIF block: exif_transpose ignores it too
        return False


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


# (upright width, upright height) of the source -> the (width, height) the job makes of it
SizeFor = Callable[[int, int], tuple[int, int]]


def load_video(
    path: Path,
    *,
    size_for: SizeFor | None = None,
    max_pixels_per_frame: int = MAX_PIXELS_PER_FRAME,
    max_frames: int = MAX_FRAMES,
    max_seconds: float = MAX_SECONDS,
    max_decoded_bytes: int = MAX_DECODED_BYTES,
) -> Clip:
    """Decode an MP4/MOV or WebM/Matroska file into a Clip.

    `size_for(width, height)` is the size the job will make of a picture of the source's
    upright size: each frame is scaled as it is decoded to the smallest size that still
    covers it (aspect kept, never enlarged), so a 4K input to a 540p job is held at
    about 960x540, never at 3840x2160. Without it frames keep the source's size.

    Frame size, frame count, duration and the memory the decoded frames will take
    (`max_decoded_bytes`, frames x width x height x 3 at the size they are decoded to)
    are checked from the header before decoding and enforced again while decoding
    (headers can lie); the frames go into one array, grown only when a header said too
    few. All frames of the first video stream become RGB uint8; `fps` is the stream's
    average rate; a display rotation (portrait phone videos) is applied. The first audio
    stream, if any, becomes float32 stereo (channels are up/down-mixed to 2) at its own
    sample rate, aligned to the first video frame and padded/trimmed to the video's
    duration.

    A file that is not one of these containers, has no video, or cannot be decoded is an
    InputError. A truncated file is an InputError too when the header says how many
    frames there should be and fewer decode (MP4/MOV always says; WebM often does not,
    in which case the decodable prefix is returned).
    """
    kind = detect_media(path)
    if kind not in VIDEO_DEMUXERS:
        raise InputError(f"unsupported video format ({_name(kind)}); use MP4, MOV or WebM")
    limits = _Limits(max_pixels_per_frame, max_frames, max_seconds, max_decoded_bytes)
    try:
        with (
            Path(path).open("rb") as f,
            av.open(f, format=VIDEO_DEMUXERS[kind], metadata_errors="replace") as container,
        ):
            return _decode(container, limits, size_for)
    except InputError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, UnicodeError, IndexError) as exc:
        raise InputError(
            f"cannot decode the {_name(kind)} video (damaged or truncated?): {exc}"
        ) from None


def check_video_header(
    path: Path, *, size_for: SizeFor, max_decoded_bytes: int = MAX_DECODED_BYTES
) -> None:
    """Refuse (InputError, as `load_video` would) a video whose header alone shows it too
    large, too long, or too big to decode at the size the job needs; no picture is
    decoded. What a submit checks of an input it has at hand (a data: URL); the worker
    checks everything again while it decodes. A display rotation is not in the header
    and makes no difference here: a turned source gives the turned output size, of the
    same area."""
    kind = detect_media(path)
    if kind not in VIDEO_DEMUXERS:
        raise InputError(f"unsupported video format ({_name(kind)}); use MP4, MOV or WebM")
    limits = _Limits(MAX_PIXELS_PER_FRAME, MAX_FRAMES, MAX_SECONDS, max_decoded_bytes)
    try:
        with (
            Path(path).open("rb") as f,
            av.open(f, format=VIDEO_DEMUXERS[kind], metadata_errors="replace") as container,
        ):
            if not container.streams.video:
                raise InputError("the file has no video stream")
            video = container.streams.video[0]
            count = _check_header(
                container, video, video.average_rate or video.guessed_rate, limits
            )
            width, height = video.codec_context.width, video.codec_context.height
    except InputError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, UnicodeError, IndexError) as exc:
        raise InputError(f"cannot read the {_name(kind)} video: {exc}") from None
    w, h = decoded_size(width, height, size_for(width, height))
    if count * w * h * 3 > max_decoded_bytes:
        raise InputTooLarge(_too_large(count, w, h, max_decoded_bytes))


@dataclasses.dataclass(frozen=True)
class _Limits:
    pixels: int  # per source frame
    frames: int
    seconds: float
    decoded_bytes: int  # all frames, at the size they are decoded to


def decoded_size(width: int, height: int, wanted: tuple[int, int]) -> tuple[int, int]:
    """The smallest size of a width x height picture's aspect that covers `wanted` (both
    sides at least as large), never larger than the picture itself: what `load_video`
    decodes to, and what the job then crops and scales to exactly `wanted`."""
    scale = min(1.0, max(wanted[0] / width, wanted[1] / height))
    if scale >= 1.0:
        return width, height
    return min(width, math.ceil(width * scale)), min(height, math.ceil(height * scale))


def _decode(container, limits: _Limits, size_for: SizeFor | None) -> Clip:
    if not container.streams.video:
        raise InputError("the file has no video stream")
    video = container.streams.video[0]
    video.thread_type = "AUTO"
    rate = video.average_rate or video.guessed_rate
    count = _check_header(container, video, rate, limits)
    audio = container.streams.audio[0] if container.streams.audio else None
    frames: _Frames | None = None
    sound = AudioCollector(audio, limits.seconds) if audio is not None else None
    first_time: float | None = None
    rotation = 0  # degrees counter-clockwise, from the display matrix (phone videos)
    for packet in container.demux(*(s for s in (video, audio) if s is not None)):
        for frame in packet.decode():
            if packet.stream is video:
                if frames is None:  # the display rotation comes with the first frame
                    first_time, rotation = frame.time, frame.rotation or 0
                    most = min(limits.frames, int(limits.seconds * rate) + 1)
                    frames = _Frames(
                        frame.width, frame.height, rotation, count, most, size_for, limits
                    )
                frames.add(frame)
            elif sound is not None:
                sound.add(frame)
    if frames is None or not frames.count:
        raise InputError("the video has no decodable frames")
    if video.frames and frames.count < video.frames:
        raise InputError(
            f"video is truncated or damaged: {frames.count} of {video.frames} frames decode"
        )
    samples, sample_rate = (None, None)
    if sound is not None:
        samples, sample_rate = sound.result(first_time or 0.0, frames.count / float(rate))
    return Clip(_upright(frames.array(), rotation), float(rate), samples, sample_rate)


class _Frames:
    """The decoded frames, in one array at the size the job needs (`size_for`)."""

    def __init__(
        self,
        width: int,
        height: int,
        rotation: float,
        expected: int,
        most: int,
        size_for: SizeFor | None,
        limits: _Limits,
    ):
        turned = round(rotation / 90) % 2 == 1  # the frames are stored on their side
        upright = (height, width) if turned else (width, height)
        wanted = size_for(*upright) if size_for is not None else upright
        w, h = decoded_size(*upright, wanted)
        self.width, self.height = (h, w) if turned else (w, h)  # as stored
        self.scaled = (self.width, self.height) != (width, height)
        frame_bytes = self.width * self.height * 3
        if expected * frame_bytes > limits.decoded_bytes:
            raise InputTooLarge(_too_large(expected, w, h, limits.decoded_bytes))
        self.cap = min(most, limits.decoded_bytes // frame_bytes)
        self.limit_bytes = limits.decoded_bytes
        self.count = 0
        self._array = np.empty(
            (max(1, min(expected, self.cap)), self.height, self.width, 3), np.uint8
        )

    def add(self, frame) -> None:
        if self.count >= len(self._array):  # the header said fewer frames: grow, bounded
            if self.count >= self.cap:
                raise InputError(
                    f"video is too long: more than {self.cap} frames at "
                    f"{self.width}x{self.height} (at most {self.limit_bytes / 1e9:g} GB decoded)"
                )
            grown = np.empty(
                (min(self.cap, self.count * 3 // 2 + 1), *self._array.shape[1:]), np.uint8
            )
            grown[: self.count] = self._array[: self.count]
            self._array = grown
        if self.scaled:  # swscale, one frame at a time: the source size is never held
            picture = frame.to_ndarray(
                format="rgb24", width=self.width, height=self.height, interpolation="LANCZOS"
            )
        else:
            picture = frame.to_ndarray(format="rgb24", width=self.width, height=self.height)
        self._array[self.count] = picture
        self.count += 1

    def array(self) -> np.ndarray:
        return self._array[: self.count]


def _too_large(count: int, width: int, height: int, limit: int) -> str:
    return (
        f"video is too large to decode: {count} frames at {width}x{height} "
        f"(the size this request needs) are over {limit / 1e9:g} GB"
    )


def _upright(frames: np.ndarray, rotation: float) -> np.ndarray:
    """Apply the display rotation (multiples of 90 degrees; mirroring is ignored)."""
    turns = round(rotation / 90) % 4
    if turns == 0:
        return frames
    return np.ascontiguousarray(np.rot90(frames, turns, axes=(1, 2)))


def _check_header(container, video, rate, limits: _Limits) -> int:
    """The frame count the header promises (or its duration implies), after checking
    what the header shows: picture size, frame rate, duration and count."""
    width, height = video.codec_context.width, video.codec_context.height
    if width <= 0 or height <= 0:
        raise InputError("the video stream has no picture size")
    if width * height > limits.pixels:
        raise InputTooLarge(
            f"video is too large: {width}x{height} is over {limits.pixels / 1e6:g} megapixels"
        )
    if not rate or not 0 < rate <= MAX_FPS:
        raise InputError(f"video has an unusable frame rate ({rate})")
    if video.duration and video.time_base:
        seconds = float(video.duration * video.time_base)
    else:
        seconds = (container.duration or 0) / av.time_base
    if seconds > limits.seconds:
        raise InputTooLarge(f"video is too long: {seconds:.1f} s is over {limits.seconds:g} s")
    count = video.frames or round(seconds * rate)
    if count > limits.frames:
        raise InputTooLarge(f"video is too long: {count} frames is over {limits.frames}")
    return int(count)
