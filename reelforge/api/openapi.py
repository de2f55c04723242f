"""The API's own OpenAPI document (/openapi.json), true to what the server answers.

FastAPI's generated document is the starting point; `document` then
  1. gives each model its own paths (POST /v2/<slug>, POST /v1/<slug>) with its parameter
     schema in components/schemas/<slug> (the generic /{slug} routes are hidden);
  2. declares the `x-api-key` security scheme on every operation that needs a key;
  3. replaces FastAPI's 422 "validation error" (bad parameters are a 400 here) with the
     statuses each operation really answers (`OPERATIONS`), every error as {"error": ...};
  4. describes every success body (`answers`).
An operation missing from `OPERATIONS` is a programming error: the document refuses to
build, and tests/api/test_openapi.py says which.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from reelforge import endpoints
from reelforge.accounts.idempotency import MAX_KEY_LENGTH
from reelforge.api import answers, estimate_answers
from reelforge.api.requests_routes import FAILED_HTTP_STATUS
from reelforge.endpoints import Endpoint
from reelforge.openai_api import docs as openai_docs

SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]
SCHEME = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "An API key (`reelforge keys create`) or the admin key",
    }
}

ERRORS: dict[int, str] = {
    400: "Bad parameters: the message names the field and what is allowed",
    401: "Missing or unknown x-api-key",
    403: "This key may not do this",
    404: "Not found",
    406: "Not enough credits for this request (its price is held at submit)",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    429: "Rate limited: retry after Retry-After seconds",
    503: "The database is unreachable: retry later",
    507: "Storage is full: retry later",
}
_KEYED = (401, 429, 503, 507)  # what any call with a key may answer
_ADMIN = (*_KEYED, 403)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _in_state(name: str, *states: str) -> dict[str, Any]:
    """Schema `name` narrowed to the given request states."""
    return {"allOf": [_ref(name), {"properties": {"status": {"enum": list(states)}}}]}


def _header(schema: dict[str, Any], description: str, required: bool = True) -> dict[str, Any]:
    return {"schema": schema, "description": description, "required": required}


_REPLAYED = {
    "idempotent-replayed": _header(
        {"type": "string", "enum": ["true"]}, "an earlier submit with this key made it", False
    )
}
_STATUS = _json(_in_state("RequestStatus", "QUEUED", "PROCESSING", "COMPLETED"), "State")
_FAILED = _json(_in_state("RequestStatus", "FAILED"), "The request ended FAILED")
_UNFINISHED = _in_state("RequestStatus", "QUEUED", "PROCESSING")
_RESULT = _json(
    {"anyOf": [_in_state("RequestResult", "COMPLETED"), _UNFINISHED]},
    "COMPLETED: the output URL and metrics; not finished yet: the status body",
)
_RESULT_FAILED = _json(_in_state("RequestResult", "FAILED"), "The request ended FAILED")
_BINARY = {"type": "string", "format": "binary"}
_MP4 = {
    "description": "The mp4",
    "content": {"video/mp4": {"schema": _BINARY}},
    "headers": {
        "x-request-id": _header({"type": "string", "format": "uuid"}, "the request"),
        "x-seed-value": _header({"type": "integer"}, "the seed used"),
        "x-generation-time": _header({"type": "number"}, "seconds of generation"),
        "x-cost": _header({"type": "number"}, "credits charged"),
        "x-remaining-credits": _header(
            {"type": "string"}, "credits left: a decimal number, or 'unlimited'"
        ),
        **_REPLAYED,
    },
}


@dataclass(frozen=True)
class Operation:
    """What one operation answers: its 200, its error statuses (with descriptions that
    differ from ERRORS), its tag; `public` ones need no key."""

    tag: str
    ok: dict[str, Any]
    errors: tuple[int, ...]
    described: dict[int, str] = field(default_factory=dict)
    public: bool = False
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)  # non-error answers
    error_schema: str = "Error"  # the body of its errors (OpenAIError on the OpenAI routes)


_REQUEST = Operation(
    "requests",
    _STATUS,
    (*_KEYED, 404),
    {404: "Unknown or expired request"},
    extra={FAILED_HTTP_STATUS: _FAILED},
)
_RESULTS = Operation(
    "requests",
    _RESULT,
    (*_KEYED, 404),
    {404: "Unknown or expired request"},
    extra={FAILED_HTTP_STATUS: _RESULT_FAILED},
)
_ADMIN_ONLY = {403: "This endpoint needs the admin key"}
_UPLOAD = Operation("files", _json(_ref("Uploaded"), "The files' signed URLs"), (*_KEYED, 400, 413))

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", "/v2/requests/{request_id}/status"): _REQUEST,
    ("get", "/v2/requests/{request_id}"): _RESULTS,
    ("get", "/v1/requests/{request_id}"): _RESULTS,
    ("post", "/v2/requests/{request_id}/cancel"): _REQUEST,
    ("post", "/v2/requests/{request_id}/replay"): Operation(
        "requests",
        _json(_ref("Replayed"), "Queued again with its seed"),
        (*_KEYED, 403, 404, 406, 409),
        {
            403: "This key may not use the request's model",
            404: "Unknown or expired request",
            409: "The request is not COMPLETED, or has no manifest",
        },
    ),
    ("get", "/v1/get-user-credits"): Operation(
        "account", _json(_ref("UserCredits"), "The balance"), _KEYED
    ),
    ("post", "/v1/files"): _UPLOAD,
    ("post", "/upload-asset"): _UPLOAD,
    ("get", "/files/{key}"): Operation(
        "files",
        {
            "description": "The file",
            "content": {kind: {"schema": _BINARY} for kind in ("video/*", "image/*")},
        },
        (400, 403, 404, 503),
        {403: "The file URL is invalid or has expired", 404: "The file is gone"},
        public=True,
    ),
    ("get", "/v1/admin/status"): Operation(
        "admin", _json(_ref("FleetStatus"), "Queues and workers"), _ADMIN, _ADMIN_ONLY
    ),
    ("get", "/v1/admin/keys"): Operation(
        "admin", _json(_ref("KeyList"), "Every key"), _ADMIN, _ADMIN_ONLY
    ),
    ("post", "/v1/admin/keys"): Operation(
        "admin",
        _json(_ref("IssuedKey"), "The new key"),
        (*_ADMIN, 400, 409, 413),
        {**_ADMIN_ONLY, 409: "The account exists already: issue the key without credits"},
    ),
    ("delete", "/v1/admin/keys/{key_id}"): Operation(
        "admin",
        _json(_ref("KeyInfo"), "The revoked key"),
        (*_ADMIN, 404),
        {**_ADMIN_ONLY, 404: "Unknown key"},
    ),
    ("get", "/v1/admin/accounts"): Operation(
        "admin", _json(_ref("AccountList"), "Every account"), _ADMIN, _ADMIN_ONLY
    ),
    ("post", "/v1/admin/accounts/{account}/credits"): Operation(
        "admin",
        _json(_ref("Balance"), "The account's new balance"),
        (*_ADMIN, 400, 404, 409, 413),
        {
            **_ADMIN_ONLY,
            400: "Bad parameters, or the grant would take the balance past the maximum",
            404: "Unknown account",
            409: "The account is unlimited, or would go below what it holds",
        },
    ),
}
_SECRET = Operation(
    "webhooks",
    _json(_ref("WebhookSecret"), "The account's webhook secret"),
    (*_KEYED, 404),
    {404: "The key's account is gone"},
)
OPERATIONS[("get", "/v1/webhooks/secret")] = _SECRET
OPERATIONS[("post", "/v1/webhooks/secret")] = _SECRET
OPERATIONS[("get", "/v2/requests/{request_id}/webhooks")] = Operation(
    "requests",
    _json(_ref("WebhookDeliveries"), "Its webhook deliveries and their attempts"),
    (*_KEYED, 404),
    {404: "Unknown or expired request"},
)
OPERATIONS[("get", "/v1/requests")] = Operation(
    "requests",
    _json(_ref("History"), "The account's requests, newest first"),
    (*_KEYED, 400),
    {400: "A bad limit, or `after` names no unexpired request of this account"},
)
_SSE_EVENT = {
    "type": "object",
    "required": ["event", "data", "id"],
    "properties": {
        "event": {"type": "string", "enum": ["status", "completed", "failed"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "the /status JSON (the last event: with the /v2/requests/{id} fields)",
        },
        "id": {"type": "string", "description": "names this state; send it as Last-Event-ID"},
        "retry": {"type": "integer", "description": "ms before a client reconnects"},
    },
}
OPERATIONS[("get", "/v2/requests/{request_id}/stream")] = Operation(
    "requests",
    {
        "description": "Server-sent events: `status` (the /status JSON) at once and at each "
        "change, then `completed` or `failed` (with the /v2/requests/{id} fields); each "
        "event's `id` works as Last-Event-ID",
        # before OpenAPI 3.2 (no itemSchema) `schema` describes one event
        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
    },
    (*_KEYED, 404),
    {404: "Unknown or expired request"},
    extra={204: {"description": "Last-Event-ID names the end already: nothing more to send"}},
)
_SUBMIT_ERRORS = (*_KEYED, 400, 403, 406, 409, 413)
_SUBMIT_DESCRIBED = {
    403: "This key may not use this model",
    409: "The Idempotency-Key was used with another body, or is in use right now",
}
_SUBMIT = Operation(
    "generate",
    {**_json(_ref("Submitted"), "Queued"), "headers": _REPLAYED},
    _SUBMIT_ERRORS,
    _SUBMIT_DESCRIBED,
)
_RUN = Operation(
    "generate",
    _MP4,
    (*_SUBMIT_ERRORS, 404),
    {**_SUBMIT_DESCRIBED, 404: "A replayed request has expired since"},
    extra={
        FAILED_HTTP_STATUS: _json(_ref("SyncFailed"), "The request ended FAILED"),
        504: _json(_ref("StillRunning"), "Still running past the sync timeout: poll it"),
    },
)
# the OpenAI Videos API (reelforge/openai_api/docs.py): its errors are OpenAI's
for _key, (_ok, _errors, _described) in openai_docs.OPERATIONS.items():
    OPERATIONS[_key] = Operation("openai", _ok, _errors, _described, error_schema="OpenAIError")
_ESTIMATE = Operation(
    "generate",
    _json(_ref("Estimate"), "Price, plan and ETA; no job was made"),
    (*_KEYED, 400, 413),
)
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Submit at most once: a repeat with this key answers the first request",
    # printable, without leading or trailing spaces (HTTP would strip them)
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]([ -~]*[!-~])?$"},
}


def install(app: FastAPI) -> None:
    """Serve `document(app)` as the app's /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description="Pixverse-compatible video generation. Errors are "
        '`{"error": "<message>"}`; a FAILED request is answered as HTTP 422 with its body.',
        routes=app.routes,
    )
    # 1. One pair of paths per model, first.
    paths = {**_model_paths(), **doc["paths"]}
    # 2.-4. Security, statuses and bodies of every operation.
    for path, item in paths.items():
        for method, operation in item.items():
            spec = OPERATIONS.get((method, path)) or _model_operation(method, path)
            if spec is None:
                raise KeyError(f"{method.upper()} {path} is not described in api/openapi.py")
            _describe(operation, spec)
    doc["paths"] = paths
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(_answer_schemas())
    schemas.update({endpoint.slug: endpoint.json_schema() for endpoint in _endpoints()})
    doc["components"]["securitySchemes"] = SCHEME
    return doc


def _describe(operation: dict[str, Any], spec: Operation) -> None:
    responses: dict[str, Any] = {"200": spec.ok}
    for status in sorted((*spec.errors, *spec.extra)):
        if status in spec.extra:
            responses[str(status)] = spec.extra[status]
            continue
        text = spec.described.get(status, ERRORS[status])
        responses[str(status)] = _json(_ref(spec.error_schema), text)
        if status == 429:
            responses["429"]["headers"] = {
                "Retry-After": _header({"type": "integer"}, "seconds to wait"),
                "x-rate-limit-reset-at-utc": _header(
                    {"type": "string", "format": "date-time"}, "when the window resets"
                ),
            }
        if status == 503:
            retry = _header({"type": "integer"}, "seconds to wait", required=False)
            responses["503"]["headers"] = {"Retry-After": retry}
    operation["responses"] = responses
    operation["security"] = [] if spec.public else SECURITY
    operation["tags"] = [spec.tag]
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "request_id":
            parameter["schema"] = {"type": "string", "format": "uuid", "title": "Request Id"}


def _model_paths() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in _endpoints():
        slug = endpoint.slug
        summary = sys.modules[type(endpoint).__module__].__doc__ or slug
        body = {"required": True, "content": {"application/json": {"schema": _ref(slug)}}}
        for version, verb, what in (
            ("v2", "submit", "queue a generation; answers at once with the request's URLs"),
            ("v1", "run", "queue a generation and wait for it; answers the mp4 bytes"),
        ):
            paths[f"/{version}/{slug}"] = {
                "post": {
                    "summary": f"{slug}: {what}",
                    "description": summary.strip().splitlines()[0],
                    "operationId": f"{verb}_{slug.replace('-', '_')}",
                    "parameters": [_IDEMPOTENCY_KEY],
                    "requestBody": body,
                }
            }
        paths[f"/v2/{slug}/estimate"] = {
            "post": {
                "summary": f"{slug}: price, plan and ETA of a submit of this body; no job",
                "description": summary.strip().splitlines()[0],
                "operationId": f"estimate_{slug.replace('-', '_')}",
                "requestBody": body,
            }
        }
    return paths


def _endpoints() -> list[Endpoint]:
    return [endpoint for slug in endpoints.SLUGS if (endpoint := endpoints.get(slug))]


def _model_operation(method: str, path: str) -> Operation | None:
    version, _, slug = path.strip("/").partition("/")
    if method == "post" and version == "v2" and slug.endswith("/estimate"):
        return _ESTIMATE if slug.removesuffix("/estimate") in endpoints.SLUGS else None
    if method != "post" or slug not in endpoints.SLUGS:
        return None
    return {"v2": _SUBMIT, "v1": _RUN}.get(version)


def _answer_schemas() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        *answers.MODELS,
        *openai_docs.MODELS,
        *estimate_answers.MODELS,
    ]
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    return dict(top["$defs"])
