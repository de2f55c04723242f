"""Decoded inputs are bounded by what the job needs (issue 21): a tiny file of many huge
black frames is scaled as it is decoded, into one array, and refused when even at the
job's size it would take more memory than allowed."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from reelforge.errors import InputTooLarge
from reelforge.media.decode import check_video_header, decoded_size, load_image, load_video

UHD = (3840, 2160)


def black_video(path: Path, frames: int, width: int, height: int) -> Path:
    """H.264 of black frames: a few kB however large the pictures (the attack's file)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        black = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), "rgb24")
        for _ in range(frames):
            for packet in stream.encode(black):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def uhd_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return black_video(tmp_path_factory.mktemp("uhd") / "uhd.mp4", 24, *UHD)


def to_540p(width: int, height: int) -> tuple[int, int]:
    return (960, 540) if width >= height else (540, 960)


def test_the_smallest_size_that_covers_what_the_job_makes() -> None:
    assert decoded_size(3840, 2160, (960, 540)) == (960, 540)
    assert decoded_size(1920, 1080, (1920, 1080)) == (1920, 1080)
    assert decoded_size(640, 360, (960, 540)) == (640, 360)  # never enlarged
    # another aspect: scaled until both sides cover, the crop happens later
    assert decoded_size(4000, 2000, (960, 540)) == (1080, 540)
    assert decoded_size(2000, 4000, (540, 960)) == (540, 1080)


def test_a_4k_video_for_a_540p_job_is_held_at_540p(uhd_video: Path) -> None:
    assert uhd_video.stat().st_size < 100_000  # the whole file is tiny
    tracemalloc.start()
    try:
        clip = load_video(uhd_video, size_for=to_540p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clip.frames.shape == (24, 540, 960, 3)
    assert int(clip.frames.max()) <= 16  # black, scaled (limited-range black is 16)
    frames_bytes = 24 * 540 * 960 * 3
    # one array of the frames at 540p and a frame or two in flight, nowhere near the
    # 597 MB the source size would take (4 GB for the attack's 160 frames)
    assert peak < frames_bytes + 4 * UHD[0] * UHD[1] * 3, peak


def test_without_a_job_size_the_source_size_is_kept(tmp_path: Path) -> None:
    path = black_video(tmp_path / "small.mp4", 3, 320, 240)
    assert load_video(path).frames.shape == (3, 240, 320, 3)


def test_too_big_to_decode_even_at_the_job_size_is_refused_from_the_header(
    uhd_video: Path,
) -> None:
    at_1080p = 24 * 1920 * 1080 * 3
    with pytest.raises(InputTooLarge, match=r"24 frames at 1920x1080 .* over"):
        check_video_header(
            uhd_video, size_for=lambda w, h: (1920, 1080), max_decoded_bytes=at_1080p - 1
        )
    with pytest.raises(InputTooLarge, match="24 frames at 1920x1080"):
        load_video(uhd_video, size_for=lambda w, h: (1920, 1080), max_decoded_bytes=at_1080p - 1)
    check_video_header(uhd_video, size_for=lambda w, h: (1920, 1080), max_decoded_bytes=at_1080p)


def test_a_big_image_is_scaled_down_to_what_the_job_needs(tmp_path: Path) -> None:
    for name in ("big.jpg", "big.png"):
        path = tmp_path / name
        Image.new("RGB", (4000, 3000), (200, 30, 30)).save(path)
        image = load_image(path, size_for=lambda w, h: (960, 720))
        assert image.size == (960, 720)
        assert image.getpixel((480, 360))[0] > 150  # still the picture
        assert load_image(path).size == (4000, 3000)  # no job size: as it is
