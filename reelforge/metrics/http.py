"""Counting and timing HTTP requests, by route template (never the raw path: request
ids in it would make a new series per job)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.metrics import families

UNMATCHED = "unmatched"  # no route: a 404 for an unknown path
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


class HttpMetrics:
    """ASGI middleware: one count (route, method, status) and one duration (route,
    method) per request; the outermost layer, so it sees every error answer too. A
    streaming answer (the live stream) lasts until it ends."""

    def __init__(self, app: ASGIApp):
        self.app = app
        # the labelled series, looked up once each (`.labels()` costs a lock and a tuple)
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when the app raises before answering

        async def send_tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        families.http_in_progress.inc()
        try:
            await self.app(scope, receive, send_tracked)
        finally:
            families.http_in_progress.dec()
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            count = self._counts.get((route, method, status))
            if count is None:
                count = families.http_requests.labels(route, method, str(status))
                self._counts[(route, method, status)] = count
            duration = self._durations.get((route, method))
            if duration is None:
                duration = self._durations[(route, method)] = families.http_duration.labels(
                    route, method
                )
            count.inc()
            duration.observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered, e.g. /v2/requests/{request_id}/status
    (the router leaves the route in the scope), else "unmatched"."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED
