"""The bodies of the OpenAI routes, as the SDK sends them: multipart/form-data (text
fields, nested ones flattened as `video[id]`, and files), or a JSON object (flattened
the same way, so `{"video": {"id": "..."}}` reads as `video[id]`).

The body is capped while it streams in (413); files are written under the caller's
working directory, never held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from reelforge.api import body
from reelforge.errors import BadRequest

MAX_FIELDS = 20
MAX_FILES = 2


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)  # text values by flattened name
    files: dict[str, Path] = field(default_factory=dict)  # uploaded files by field name

    def text(self, name: str) -> str | None:
        """The text field `name`; BadRequest when it came as a file."""
        if name in self.files:
            raise BadRequest(f"{name}: must be text, not a file", param=name)
        return self.fields.get(name)


async def read(request: Request, workdir: Path, limit: int) -> Form:
    """The request's form (multipart or JSON); BadRequest for any other body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _multipart(request, workdir, limit)
    parsed = await body.read_json(request, limit)
    if parsed is None:
        return Form()
    if not isinstance(parsed, dict):
        raise BadRequest("request body: must be a JSON object or multipart/form-data")
    form = Form()
    _flatten(parsed, "", form.fields)
    return form


def _flatten(value: Any, prefix: str, into: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}[{key}]" if prefix else str(key), into)
        return
    if value is None:
        return
    if isinstance(value, list | bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"{prefix}: must be a string or a number", param=prefix)
    if len(into) >= MAX_FIELDS:
        raise BadRequest(f"request body: at most {MAX_FIELDS} fields")
    into[prefix] = str(value)


async def _multipart(request: Request, workdir: Path, limit: int) -> Form:
    parser = MultiPartParser(
        request.headers,
        body.stream(request, limit),
        max_files=MAX_FILES,
        max_fields=MAX_FIELDS,
    )
    try:
        parsed = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"malformed multipart body: {exc.message}") from None
    form = Form()
    try:
        for name, value in parsed.multi_items():
            if name in form.fields or name in form.files:
                raise BadRequest(f"{name}: given more than once", param=name)
            if isinstance(value, UploadFile):
                path = workdir / f"upload-{len(form.files)}.bin"
                with path.open("wb") as out:
                    while chunk := await value.read(1024 * 1024):
                        out.write(chunk)
                form.files[name] = path
            else:
                form.fields[name] = value
    finally:
        await parsed.close()
    return form
