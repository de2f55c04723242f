"""A completed video's downloadable assets: the mp4, its thumbnail (the JPEG of its first
frame the worker stores beside it) and a spritesheet (a JPEG grid of frames sampled
evenly through the clip, drawn on request from the mp4: nothing more is stored).
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
from fastapi.responses import FileResponse, Response, StreamingResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool

from reelforge.errors import NotFound
from reelforge.jobs.history import thumbnail_key
from reelforge.storage import Storage

SPRITE_TILES = 25  # frames in a spritesheet at most (a 5 x 5 grid)
SPRITE_TILE_WIDTH = 256  # pixels; the height follows the video's aspect
MEDIA_TYPES = {"video": "video/mp4", "thumbnail": "image/jpeg", "spritesheet": "image/jpeg"}


async def answer(storage: Storage, output_key: str, variant: str, video_id: str) -> Response:
    """The asset `variant` of the mp4 stored at `output_key`."""
    if variant == "spritesheet":
        data = await run_in_threadpool(_spritesheet_of, storage, output_key)
        return Response(data, media_type="image/jpeg")
    key = output_key if variant == "video" else thumbnail_key(output_key)
    path = storage.local_path(key)
    if path is not None:
        if not path.is_file():
            raise NotFound(f"Video {video_id} has no {variant}")
        return FileResponse(path, media_type=MEDIA_TYPES[variant])
    try:  # an object store: the GET is sent here, so a missing object raises now
        chunks = await run_in_threadpool(_opened, storage, key)
    except FileNotFoundError:
        raise NotFound(f"Video {video_id} has no {variant}") from None
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[variant])


def _opened(storage: Storage, key: str) -> Iterator[bytes]:
    chunks = storage.read(key)
    first = next(chunks, b"")
    return _prepend(first, chunks)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def copy_out(storage: Storage, key: str, dest: Path) -> Path:
    """The object at `key`, copied to the file `dest`."""
    with dest.open("wb") as out:
        for chunk in storage.read(key):
            out.write(chunk)
    return dest


def _spritesheet_of(storage: Storage, output_key: str) -> bytes:
    local = storage.local_path(output_key)
    if local is not None:
        return spritesheet(local)
    with tempfile.TemporaryDirectory(prefix="reelforge-sprites-") as tmp:
        return spritesheet(copy_out(storage, output_key, Path(tmp) / "video.mp4"))


def spritesheet(mp4: Path) -> bytes:
    """A JPEG grid of up to SPRITE_TILES frames of `mp4`, sampled evenly, left to right
    and top to bottom, each SPRITE_TILE_WIDTH wide (or the video's width, if narrower)."""
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 1
        count = min(SPRITE_TILES, total)
        wanted = {round(i * (total - 1) / max(count - 1, 1)) for i in range(count)}
        width = min(SPRITE_TILE_WIDTH, stream.codec_context.width)
        height = max(2, round(width * stream.codec_context.height / stream.codec_context.width))
        tiles = [
            frame.to_image().resize((width, height))
            for index, frame in enumerate(container.decode(stream))
            if index in wanted
        ]
    if not tiles:
        raise NotFound("the video has no frames to draw a spritesheet from")
    columns = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * width, rows * height))
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % columns) * width, (index // columns) * height))
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=85)
    return out.getvalue()
