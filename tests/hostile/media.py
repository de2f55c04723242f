"""Hostile media made on the spot: a PNG decompression bomb, an 8192x8192 video, a
truncated mp4, random bytes, and a well-formed input for the control case."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import av
from PIL import Image

from tests.conftest import write_test_video


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(side: int = 30000) -> bytes:
    """A real, complete 1-bit PNG of side x side black pixels: ~110 kB on the wire,
    900 megapixels (2.7 GB as RGB) once decoded."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))  # fmt: skip


def huge_video(path: Path, side: int = 8192) -> bytes:
    """One black side x side H.264 frame in an mp4 (about 200 kB)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        frame = av.VideoFrame(side, side, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path.read_bytes()


def good_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def make_hostile_files(root: Path) -> dict[str, bytes]:
    whole = root / "whole.mp4"
    write_test_video(whole, 48)
    clip = whole.read_bytes()
    return {
        "bomb.png": png_bomb(),
        "huge.mp4": huge_video(root / "huge.mp4"),
        "truncated.mp4": clip[: len(clip) // 2],
        "random.mp4": os.urandom(200_000),
        "good.png": good_png(),
        "good.mp4": clip,
    }


def hls_playlist(segment_base: str) -> bytes:
    """An HLS playlist whose segments live on `segment_base` (another host)."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
        f"#EXTINF:2.0,\n{segment_base}/segment0.ts\n#EXT-X-ENDLIST\n"
    ).encode()
