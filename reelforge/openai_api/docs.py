"""The OpenAI routes in /openapi.json: their answer bodies (`MODELS`, named OpenAI* in
components/schemas), their request bodies (`CREATE_BODY`, ... given to the routes as
`openapi_extra`), and what each operation answers (`OPERATIONS`, which api/openapi.py
turns into its `Operation`s, every error as `OpenAIError`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from reelforge.endpoints.fields import MAX_PROMPT_CHARS, NOT_BLANK
from reelforge.openai_api import mapping

KEYED = (401, 429, 503, 507)  # what any call with a key may answer (api/openapi.py's _KEYED)


class OpenAIVideoError(BaseModel):
    code: str  # generation_failed, cancelled
    message: str


class OpenAIVideo(BaseModel):
    """The SDK's `Video`: any request, whichever API made it."""

    id: str
    object: Literal["video"]
    model: str  # the name asked for (sora-2, ...), or a Pixverse request's slug
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int = Field(ge=0, le=100)
    created_at: int
    completed_at: int | None
    expires_at: int | None
    seconds: str  # an extension's: the stitched whole
    size: str  # WIDTHxHEIGHT
    prompt: str | None
    error: OpenAIVideoError | None
    remixed_from_video_id: str | None
    # Reelforge's extension, on a completed video only: {"manifest": what made it}
    metadata: dict[str, Any] | None = None


class OpenAIVideoList(BaseModel):
    object: Literal["list"]
    data: list[OpenAIVideo]
    first_id: str | None
    last_id: str | None
    has_more: bool


class OpenAIVideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"]
    deleted: bool


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


MODELS: tuple[type[BaseModel], ...] = (
    OpenAIVideo,
    OpenAIVideoList,
    OpenAIVideoDeleted,
    OpenAIError,
)

_PROMPT = {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS, "pattern": NOT_BLANK}
_BINARY = {"type": "string", "format": "binary"}


def _seconds(lo: int, hi: int) -> dict[str, Any]:
    return {"type": "string", "enum": [str(n) for n in range(lo, hi + 1)]}


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


CREATE_BODY = _form(
    {
        "prompt": _PROMPT,
        "model": {"type": "string", "enum": list(mapping.MODELS), "default": "sora-2"},
        "seconds": {**_seconds(*mapping.CREATE_SECONDS), "default": "4"},
        "size": {
            "type": "string",
            "enum": list(mapping.SDK_SIZES),
            "default": mapping.DEFAULT_SIZE,
            "description": "WIDTHxHEIGHT: these four, or any other with even sides of "
            f"{mapping.MIN_SIDE} to {mapping.MAX_SIDE} and at most {mapping.MAX_PIXELS} pixels",
        },
        "input_reference": {**_BINARY, "description": "a PNG, JPEG or WebP: image to video"},
    },
    ["prompt"],
)
EXTEND_BODY = _form(
    {
        "prompt": _PROMPT,
        "seconds": {**_seconds(*mapping.EXTEND_SECONDS), "description": "new seconds"},
        "video": {**_BINARY, "description": "the mp4 to continue (or send video[id])"},
    },
    ["prompt", "seconds", "video"],
)
REMIX_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["prompt"],
                    "properties": {"prompt": _PROMPT},
                }
            }
        },
    }
}


def _json(name: str, description: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{name}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_VIDEO = _json("OpenAIVideo", "The video")
_NEW = {
    400: "Bad parameters: the error's param names the field",
    403: "This key may not use the model this maps onto",
    413: "The request body is too large",
    429: "Rate limited (Retry-After), or insufficient_quota: not enough credits",
}
_UNKNOWN = {404: "Unknown or expired video (or another account's)"}
_BINARY_ANSWER = {
    "description": "The mp4 (variant=video) or a JPEG (thumbnail, spritesheet)",
    "content": {kind: {"schema": _BINARY} for kind in ("video/mp4", "image/jpeg")},
}

# (method, path) -> (the 200, the error statuses, descriptions that differ from the usual)
OPERATIONS: dict[tuple[str, str], tuple[dict[str, Any], tuple[int, ...], dict[int, str]]] = {
    ("post", "/v1/videos"): (_VIDEO, (*KEYED, 400, 403, 413), _NEW),
    ("post", "/v1/videos/{video_id}/remix"): (
        _VIDEO,
        (*KEYED, 400, 403, 404, 413),
        {**_NEW, **_UNKNOWN, 400: "Bad parameters, or the video is not completed"},
    ),
    ("post", "/v1/videos/extensions"): (
        _VIDEO,
        (*KEYED, 400, 403, 404, 413),
        {**_NEW, **_UNKNOWN, 400: "Bad parameters, or the video is not completed"},
    ),
    ("get", "/v1/videos"): (
        _json("OpenAIVideoList", "The account's videos, a page"),
        (*KEYED, 400),
        {400: "A bad limit or order, or `after` names no unexpired video of this account"},
    ),
    ("get", "/v1/videos/{video_id}"): (_VIDEO, (*KEYED, 404), _UNKNOWN),
    ("delete", "/v1/videos/{video_id}"): (
        _json("OpenAIVideoDeleted", "Deleted, with its files"),
        (*KEYED, 404),
        _UNKNOWN,
    ),
    ("get", "/v1/videos/{video_id}/content"): (
        _BINARY_ANSWER,
        (*KEYED, 400, 404),
        {**_UNKNOWN, 400: "A bad variant, or the video is not completed"},
    ),
}
