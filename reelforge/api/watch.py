"""One reader per API process that follows the jobs its stream clients watch.

Every client of `GET /v2/requests/{id}/stream` subscribes here; the reader re-reads the
watched jobs (one query for all of them, plus a queue-position count per QUEUED one) when
told of a change (jobs/changes.py: PostgreSQL NOTIFY, or on SQLite a poke of this
process's socket, jobs/signals.py), and anyway every `stream_poll_seconds` on SQLite
(a lost poke, a socket that could not be bound) or every second on PostgreSQL, and offers
each changed job's `StatusFacts` to its subscribers.
A watcher therefore costs no query of its own per tick, and however many clients watch
one job, it is read once. A subscriber keeps only the newest facts: a slow client skips
states, it never makes the server buffer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from reelforge.accounts import credits
from reelforge.api import status
from reelforge.api.deps import Services
from reelforge.api.status import StatusFacts
from reelforge.jobs import changes, signals
from reelforge.jobs.wakeup import Wakeup

log = logging.getLogger("reelforge.api")

MIN_READ_GAP_SECONDS = 0.005  # bursts of notifications are read as one
LISTEN_FALLBACK_SECONDS = 1.0  # with NOTIFY, read anyway this often (a lost notification)
FAULT_WAIT_SECONDS = 1.0  # after a failed read (database down), before the next


@dataclass(frozen=True)
class Update:
    """What a subscriber is offered: the job's facts, or `gone` (it expired)."""

    facts: StatusFacts | None
    remaining_credits: float | None = None  # terminal jobs: the owner's balance then

    @property
    def gone(self) -> bool:
        return self.facts is None


class Subscription:
    """One client's view: the newest update, and a flag that a newer one came."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self._latest: Update | None = None
        self._changed = asyncio.Event()

    def offer(self, update: Update) -> None:
        self._latest = update
        self._changed.set()

    async def next(self) -> Update:
        await self._changed.wait()
        self._changed.clear()
        assert self._latest is not None
        return self._latest


class Watch:
    def __init__(self, services: Services):
        self.services = services
        self._subs: dict[str, set[Subscription]] = {}
        self._last: dict[str, str] = {}  # job id -> event id last offered
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        self._listening = services.db.dialect.name == "postgresql"
        # SQLite: a socket that the job-changing transactions poke (else only the poll)
        self._poked = signals.database_of(services.db) is not None

    @property
    def watched(self) -> int:
        """How many jobs have a subscriber (for tests and benchmarks)."""
        return len(self._subs)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="reelforge-watch")
        if self._listening or self._poked:
            self._listener = threading.Thread(
                target=self._listen, args=(loop,), name="reelforge-watch-listen", daemon=True
            )
            self._listener.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await anyio.to_thread.run_sync(self._listener.join, 5.0)

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[Subscription]:
        sub = Subscription(job_id)
        self._subs.setdefault(job_id, set()).add(sub)
        self._wake.set()
        try:
            yield sub
        finally:
            watchers = self._subs.get(job_id)
            if watchers is not None:
                watchers.discard(sub)
                if not watchers:
                    del self._subs[job_id]
                    self._last.pop(job_id, None)

    # --- the reader ------------------------------------------------------------------

    async def _run(self) -> None:
        interval = (
            LISTEN_FALLBACK_SECONDS
            if self._listening
            else self.services.settings.stream_poll_seconds
        )
        while True:
            if not self._subs:
                self._wake.clear()
                await self._wake.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            ids = list(self._subs)
            if not ids:
                continue
            try:
                updates = await anyio.to_thread.run_sync(self._read, ids)
            except Exception as exc:  # the database is down: streams keep their last state
                log.warning("stream reader: could not read jobs (%s)", _first_line(exc))
                await asyncio.sleep(FAULT_WAIT_SECONDS)
                continue
            self._offer(updates)
            await asyncio.sleep(MIN_READ_GAP_SECONDS)

    def _read(self, ids: list[str]) -> dict[str, Update]:
        """The current facts of every job in `ids` (absent ones are gone)."""
        services = self.services
        try:
            found = services.reads.jobs(ids)  # no write lock: it never delays a worker
        except sqlite3.Error:  # busy or failing: the queue's read (and its errors) decide
            found = services.queue.get_many(ids)
        serving = status.live_workers(services) if any(not j.terminal for j in found) else {}
        updates: dict[str, Update] = {job_id: Update(None) for job_id in ids}
        for job in found:
            facts = status.facts(services, job, serving)
            if facts.event_id == self._last.get(job.id):
                del updates[job.id]  # nothing new: no balance read either
                continue
            remaining = None
            if job.terminal:
                balance = credits.balance(services.db, job.owner)
                remaining = None if balance is None else balance.available
            updates[job.id] = Update(facts, remaining)
        return updates

    def _offer(self, updates: dict[str, Update]) -> None:
        for job_id, update in updates.items():
            if update.facts is not None:
                self._last[job_id] = update.facts.event_id
            for sub in list(self._subs.get(job_id, ())):
                sub.offer(update)

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the reader on every NOTIFY (PostgreSQL) or poke (SQLite) of a job change."""
        wakeup = Wakeup(self.services.db, channel=changes.CHANNEL)
        try:
            while wakeup.listening and not self._stopping.is_set():
                if wakeup.wait(0.5) and self._subs:
                    loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop closed under us: the server is stopping
            pass
        finally:
            wakeup.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
