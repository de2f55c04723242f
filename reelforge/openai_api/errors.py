"""OpenAI's error body on the OpenAI routes, and only there.

    {"error": {"message": "...", "type": "invalid_request_error", "param": "size", "code": null}}

`OpenAIRoute` is the route class of this package's routers: whatever a handler or one of
its dependencies raises (an `ApiError`, FastAPI's validation error, a database outage or
a full disk) is answered in that shape, with the status the rest of the API would use,
but two: not enough credits is OpenAI's 429 `insufficient_quota` (the SDK's
`RateLimitError`), where the Pixverse routes answer 406. The `param` is the OpenAI name of
the field a message starts with ("image_url: ..." is about `input_reference`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from reelforge.api import capacity
from reelforge.errors import ApiError, InsufficientCredits

log = logging.getLogger("reelforge.openai")

# the Pixverse parameter an OpenAI field becomes, named back in messages
OPENAI_NAMES = {"image_url": "input_reference", "duration": "seconds", "video_url": "video"}
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_\[\].]*): ")
_TYPES = {
    401: "invalid_request_error",
    403: "permission_error",
    429: "rate_limit_error",
}


def body(
    message: str, *, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def answer(error: ApiError) -> JSONResponse:
    """`error` as OpenAI would answer it."""
    status, message = error.status, error.message
    param = error.extra.get("param")
    found = _FIELD.match(message)
    if found and param is None:
        param = OPENAI_NAMES.get(found.group(1), found.group(1))
        message = param + message[len(found.group(1)) :]
    code: str | None = error.extra.get("code")
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    if isinstance(error, InsufficientCredits):
        status, kind, code = 429, "insufficient_quota", "insufficient_quota"
    elif status == 401:
        code = "invalid_api_key"
    elif status == 429:
        code = "rate_limit_exceeded"
    return JSONResponse(
        body(message, type=kind, param=param, code=code), status, headers=error.headers
    )


def not_valid(error: RequestValidationError) -> JSONResponse:
    """FastAPI's check of a query or path parameter, as a 400 naming it."""
    first = error.errors()[0] if error.errors() else {}
    where = [str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path")]
    param = ".".join(where) or None
    message = f"{param}: {first.get('msg', 'invalid')}" if param else "invalid request"
    return JSONResponse(body(message, type="invalid_request_error", param=param), 400)


class OpenAIRoute(APIRoute):
    """An APIRoute whose every error is an OpenAI error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except ApiError as error:
                return answer(error)
            except RequestValidationError as error:
                return not_valid(error)
            except HTTPException as error:
                kind = "server_error" if error.status_code >= 500 else "invalid_request_error"
                message = "Not found" if error.status_code == 404 else str(error.detail)
                return JSONResponse(body(message, type=kind), error.status_code)
            except ClientDisconnect:
                raise
            except Exception as error:
                outage = capacity.service_error(error)
                if outage is not None:
                    log.warning("answered %d: %s", outage.status, outage.message)
                    return answer(outage)
                log.exception("unhandled error on %s", request.url.path)
                return JSONResponse(body("internal server error", type="server_error"), 500)

        return route
