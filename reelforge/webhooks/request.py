"""The two webhook fields a submit may carry on every model, `webhook` and
`webhook_events`: checked here and kept on the job, never passed to the endpoint (so
never to the engine)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from reelforge.errors import BadRequest
from reelforge.jobs.outbox import DEFAULT_EVENTS, EVENTS
from reelforge.media.ingest import check_url
from reelforge.media.pinning import AddressRefused, FetchRefused, Pins, Resolver

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


RESOLVE_SECONDS = 3.0  # how long a submit waits for the webhook host's addresses


def check_addresses(
    webhook: WebhookRequest, *, allow_private: bool, resolver: Resolver | None = None
) -> None:
    """BadRequest when the webhook's host resolves to an address deliveries are refused
    (a private one, say): it would be retried for hours and never delivered. A host that
    does not resolve now is accepted (DNS may be late): its deliveries say so. Blocking
    (a DNS lookup): call it off the event loop."""
    if webhook.url is None:
        return
    deadline = time.monotonic() + RESOLVE_SECONDS
    try:
        Pins(allow_private, deadline, resolver=resolver).pin(httpx.URL(webhook.url))
    except AddressRefused as exc:
        raise BadRequest(f"webhook: {exc}") from None
    except (FetchRefused, httpcore.TimeoutException, OSError):
        pass  # not resolvable now: the delivery tries, and tells


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
