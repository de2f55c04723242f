"""Every error Reelforge raises on purpose, and the HTTP status each one answers with.

    ReelforgeError
    ├── ApiError                 (answered as {"error": message} with .status)
    │   ├── BadRequest           400  a parameter is missing, malformed or not allowed
    │   ├── Unauthorized         401  missing or unknown x-api-key
    │   ├── Forbidden            403  the key may not use this model
    │   ├── NotFound             404  unknown model, unknown or expired request id
    │   ├── InsufficientCredits  406
    │   ├── Conflict             409  idempotency key reused with another body
    │   ├── PayloadTooLarge      413  a request body past its cap
    │   ├── RateLimited          429
    │   ├── ServiceUnavailable   503  the database is unreachable (with Retry-After)
    │   ├── GatewayTimeout       504  a sync call outlived its wait
    │   └── InsufficientStorage  507  no room left to store more work
    └── JobError                 a job cannot be completed; it ends FAILED with this message
        ├── InputError           an input URL could not be fetched or decoded
        └── Cancelled            the job was cancelled while it ran

The mapping to HTTP lives in one place: `reelforge.api.app` turns an ApiError into
`{"error": message}` with its status, a database that cannot be reached into a 503, a
full disk into a 507, any other exception into a 500 (each answered on a connection that
stays open), and a JobError into a FAILED job (HTTP 422).
"""

from __future__ import annotations

from typing import Any


class ReelforgeError(Exception):
    """Base of every deliberate Reelforge error."""


class ApiError(ReelforgeError):
    status = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        # extra JSON fields next to "error" (e.g. request_id on a 504)
        self.extra = extra


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class InsufficientCredits(ApiError):
    status = 406


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class RateLimited(ApiError):
    status = 429


class ServiceUnavailable(ApiError):
    status = 503


class GatewayTimeout(ApiError):
    status = 504


class InsufficientStorage(ApiError):
    status = 507


class JobError(ReelforgeError):
    """A job cannot finish; its message becomes the FAILED job's `error`."""


class InputError(JobError):
    """An input (image_url, video_url, ...) could not be fetched or decoded."""


class InputTooLarge(InputError):
    """An input's header shows it larger, longer or bigger decoded than this server takes:
    a submit that has the input at hand (a data: URL) refuses it with a 400."""


class Cancelled(JobError):
    """The job was cancelled by its owner while it ran."""
