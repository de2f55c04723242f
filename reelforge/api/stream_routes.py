"""Watching a request live: GET /v2/requests/{id}/stream (server-sent events).

Every event's `data` is the /status JSON at that moment (the terminal one with the
/v2/requests/{id} fields too: `output`, `metrics`, `seed`, `video`). The first event is
the current state, then one per change; `event` is `status`, and `completed` or `failed`
for the last one, after which the server closes. Each `id` names the state it carries,
so a client reconnecting with `Last-Event-ID` is sent the current state only if it
changed. sse-starlette frames the events and sends the keep-alive comment lines.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from reelforge import views
from reelforge.accounts import credits
from reelforge.api import requests_routes, status
from reelforge.api.deps import BaseUrlDep, OwnerDep, Services, ServicesDep, find_job
from reelforge.api.status import StatusFacts
from reelforge.api.watch import Update
from reelforge.jobs import Job, Status

router = APIRouter()

RETRY_MILLISECONDS = 1000  # how soon a client's EventSource reconnects after a drop


@router.get("/v2/requests/{request_id}/stream", response_model=None)
async def stream(
    request_id: str,
    request: Request,
    owner: OwnerDep,
    services: ServicesDep,
    base_url: BaseUrlDep,
) -> Response:
    """Follow a request live (text/event-stream): its state at once, each change, the end."""
    job = _inline_job(services, request_id)
    if job is None or job.owner != owner:
        job = await run_in_threadpool(find_job, services, request_id, owner)
    last_event_id = request.headers.get("last-event-id")
    if job.terminal and last_event_id == str(job.version):
        return Response(status_code=204)  # the client saw the end already: stop reconnecting
    events = _events(services, request_id, base_url, last_event_id)
    return EventSourceResponse(
        events,
        ping=services.settings.stream_keepalive_seconds,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    services: Services, job_id: str, base_url: str, last_event_id: str | None
) -> AsyncIterator[ServerSentEvent]:
    sent_id, sent_version = last_event_id, -1
    async with services.watch.subscribe(job_id) as sub:
        # subscribed first, read second: a change in between is offered again, not lost
        update = _inline_first_update(services, job_id)
        if update is None:
            update = await run_in_threadpool(_first_update, services, job_id)
        first = True
        while True:
            if update.facts is None:
                return  # expired while watched: nothing more to say
            facts = update.facts
            # an older state offered late (read before ours) is never sent after a newer one
            if facts.event_id != sent_id and facts.job.version >= sent_version:
                event = _event(services, update, base_url, retry=first)
                if event is not None:
                    yield event
                sent_id, sent_version, first = facts.event_id, facts.job.version, False
            if facts.job.terminal:
                return
            update = await sub.next()


# The first event is "the current state, at once" (README). On SQLite both reads before it
# are the lock-free ones, done on the event loop as the status route does: through the
# thread pool they queued behind everything else there (with 64 pollers beside 100
# watchers, a watcher's first event took 5.7 s at the median).


def _inline_job(services: Services, job_id: str) -> Job | None:
    """The job from the fast reads on the event loop; None: ask the thread pool (which
    also answers the 404)."""
    if not services.reads.inline:
        return None
    try:
        return services.reads.job(job_id)
    except sqlite3.Error:  # busy or failing: the queue's path decides
        return None


def _inline_first_update(services: Services, job_id: str) -> Update | None:
    """`_first_update` from the fast reads, for an unfinished job (a finished one also
    needs the account's credits); None: ask the thread pool."""
    job = _inline_job(services, job_id)
    if job is None or job.terminal:
        return None
    try:
        facts = status.facts_inline(services, job)
    except sqlite3.Error:
        return None
    return None if facts is None else Update(facts)


def _first_update(services: Services, job_id: str) -> Update:
    job = services.queue.get(job_id)
    if job is None:
        return Update(None)
    remaining = None
    if job.terminal:
        balance = credits.balance(services.db, job.owner)
        remaining = None if balance is None else balance.available
    return Update(status.facts(services, job), remaining)


def _event(
    services: Services, update: Update, base_url: str, *, retry: bool
) -> ServerSentEvent | None:
    facts: StatusFacts | None = update.facts
    if facts is None:
        return None
    job = facts.job
    body: dict[str, Any] = status.body(facts, base_url)
    name = "status"
    if job.terminal:
        name = "completed" if job.status is Status.COMPLETED else "failed"
        result = views.result(
            job,
            views.Links(base_url, job.id),
            files=requests_routes.file_urls(services, job, base_url),
            remaining_credits=update.remaining_credits,
        )
        body = {**body, **result}
    return ServerSentEvent(
        data=json.dumps(body, separators=(",", ":")),
        event=name,
        id=facts.event_id,
        retry=RETRY_MILLISECONDS if retry else None,
    )
