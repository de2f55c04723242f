"""The two webhook fields a submit may carry on every model, `webhook` and
`webhook_events`: checked here and kept on the job, never passed to the endpoint (so
never to the engine)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reelforge.errors import BadRequest
from reelforge.jobs.outbox import DEFAULT_EVENTS, EVENTS
from reelforge.media.ingest import check_url

MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class WebhookRequest:
    url: str | None  # None: no webhook
    events: tuple[str, ...]  # which events it gets


def take(body: Any, *, allow_private: bool) -> tuple[Any, WebhookRequest]:
    """Split `body` into the endpoint's parameters and its webhook fields (BadRequest
    naming the field). https only, with the input URLs' address rules; plain http and
    loopback or private hosts only where REELFORGE_ALLOW_PRIVATE_URLS allows them."""
    if not isinstance(body, Mapping) or not ({"webhook", "webhook_events"} & body.keys()):
        return body, WebhookRequest(None, ())
    params = {k: v for k, v in body.items() if k not in ("webhook", "webhook_events")}
    url, events = body.get("webhook"), body.get("webhook_events")
    if url is None:
        if events is not None:
            raise BadRequest("webhook_events: needs a webhook URL in 'webhook'")
        return params, WebhookRequest(None, ())
    return params, WebhookRequest(_check_url(url, allow_private), _check_events(events))


def _check_url(url: Any, allow_private: bool) -> str:
    if not isinstance(url, str) or not url.strip():
        raise BadRequest("webhook: must be an https URL")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise BadRequest(f"webhook: longer than {MAX_URL_LENGTH} characters")
    scheme = url.split(":", 1)[0].lower()
    if scheme != "https" and not (scheme == "http" and allow_private):
        raise BadRequest("webhook: must be an https URL")
    try:
        check_url(url, max_bytes=0, allow_private=allow_private)
    except ValueError as exc:
        raise BadRequest(f"webhook: {exc}") from None
    return url


def _check_events(events: Any) -> tuple[str, ...]:
    allowed = ", ".join(EVENTS)
    if events is None:
        return DEFAULT_EVENTS
    if not isinstance(events, list) or not events:
        raise BadRequest(f"webhook_events: must be a non-empty list of: {allowed}")
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise BadRequest(f"webhook_events: unknown event {unknown[0]!r}; allowed: {allowed}")
    return tuple(event for event in EVENTS if event in events)
