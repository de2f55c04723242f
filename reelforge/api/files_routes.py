"""Serving stored outputs to anyone holding a valid signed URL (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response, StreamingResponse

from reelforge.api.deps import ServicesDep
from reelforge.errors import Forbidden, NotFound

router = APIRouter()


@router.get("/files/{key:path}")
def get_file(key: str, expires: int, signature: str, services: ServicesDep) -> Response:
    """A stored file, if the URL's signature is valid and not expired."""
    if not services.signer.verify(key, expires, signature):
        raise Forbidden("This file URL is invalid or has expired")
    media_type = "video/mp4" if key.endswith(".mp4") else None
    try:
        path = services.storage.local_path(key)
        if path is None:  # an object store that could not presign: relay its bytes
            return StreamingResponse(services.storage.read(key), media_type=media_type)
    except (ValueError, FileNotFoundError):
        raise NotFound("File not found") from None
    if not path.is_file():
        raise NotFound("File not found")
    return FileResponse(path, media_type=media_type)
