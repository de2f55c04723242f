"""Fixtures shared by every test package: input media on a loopback server and a real
`reelforge serve` driven through the official segmind SDK."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.media_server import MediaServer
from tests.support.seeds import EXTEND_INPUT_FRAMES
from tests.support.server import FAKE_ENGINE, REPO, ServerProcess


def _gradient(width: int, height: int, hue: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(x, (height, width, 3)).copy()
    pixels[..., hue] = 200
    return Image.fromarray(pixels)


def write_test_video(path: Path, frames: int, width: int = 256, height: int = 144) -> None:
    """A 24 fps H.264 + AAC mp4 written with PyAV directly (not with our encoder)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        for index in range(frames):
            pixels = np.full((height, width, 3), (index * 5) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        samples = np.zeros((1, 2 * 48000 * frames // 24), dtype=np.float32)
        tone = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="stereo")
        tone.sample_rate = 48000
        for packet in audio.encode(tone):
            container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    _gradient(320, 180, 0).save(root / "input.png")
    _gradient(320, 180, 2).save(root / "last.png")
    _gradient(180, 320, 1).save(root / "portrait.png")
    write_test_video(root / "input.mp4", EXTEND_INPUT_FRAMES)
    return root


@pytest.fixture(scope="session")
def media_server(media_dir: Path) -> Iterator[MediaServer]:
    with MediaServer(media_dir) as server:
        yield server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with the fast test engine, shared by the wire-protocol tests."""
    process = ServerProcess(tmp_path_factory.mktemp("server"), REELFORGE_ENGINE=FAKE_ENGINE)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random LTX-2 checkpoint built the way a user builds one: the CLI."""
    path = tmp_path_factory.mktemp("checkpoint") / "tiny"
    subprocess.run(
        [sys.executable, "-m", "reelforge", "checkpoint", "tiny", str(path)],
        check=True, cwd=REPO, capture_output=True, timeout=300,
    )  # fmt: skip
    assert (path / "model_index.json").is_file()
    return path


@pytest.fixture(scope="session")
def ltx2_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path
) -> Iterator[ServerProcess]:
    """A server on the real LTX-2 engine (diffusers) with the tiny checkpoint."""
    process = ServerProcess(
        tmp_path_factory.mktemp("ltx2-server"), REELFORGE_CHECKPOINT=str(tiny_checkpoint)
    )
    try:
        yield process.start()
    finally:
        process.stop()
