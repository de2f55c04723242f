"""Delivering the webhook outbox (jobs/outbox.py): `WebhookSender`, a thread of every
worker process.

One delivery at a time, in four steps:
  1. claim: the oldest due row (pending, `next_attempt_at` passed) is taken under a lease
     in one UPDATE ... RETURNING (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
     SQLite, as jobs are claimed), which also moves its `next_attempt_at` to the lease's
     end: a sender killed mid-attempt leaves the row due again once its lease lapses, and
     the one index (status, next_attempt_at) finds due and abandoned rows alike;
  2. render the body at the first attempt and keep it (bodies.py): retries send the same
     bytes under the same webhook-id;
  3. sign it (Standard Webhooks, with the owner's current secret) and POST it
     (transport.py: pinned, checked addresses, one total timeout, no redirects);
  4. record the attempt (a webhook_attempts row) and what follows, fenced on the lease:
     a 2xx is delivered; anything else is tried again after
     webhook_retry_seconds * 2**(n-1) (capped at webhook_retry_max_seconds), and given up
     once that next try would fall past webhook_retry_hours after the event.

Deliveries and their attempts are deleted past `expires_at` (24 h after the event). A
database fault (or a bug) never ends the thread: it logs and backs off (worker/faults.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from standardwebhooks import Webhook

from reelforge import metrics
from reelforge.errors import NotFound
from reelforge.jobs.outbox import DELIVERED, FAILED, PENDING
from reelforge.jobs.schema import webhook_attempts, webhook_deliveries
from reelforge.media.pinning import Resolver
from reelforge.settings import Settings
from reelforge.storage import Storage, UrlSigner
from reelforge.webhooks import secrets, transport
from reelforge.webhooks.bodies import Bodies, Unrenderable
from reelforge.webhooks.transport import Outcome
from reelforge.worker import faults

log = logging.getLogger("reelforge.webhooks")

PURGE_EVERY_SECONDS = 300.0  # expired deliveries are deleted this often (a small scan)
FAULT_FIRST_SECONDS, FAULT_MAX_SECONDS = 1.0, 30.0  # back-off after a database fault

_d, _a = webhook_deliveries, webhook_attempts


def sign(secret: str, msg_id: str, body: str, at: float) -> dict[str, str]:
    """The three Standard Webhooks headers of `body` sent as `msg_id` at `at` (epoch s)."""
    when = datetime.fromtimestamp(int(at), tz=UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at)),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


class WebhookSender:
    """Sends due deliveries until stopped; `start`/`stop` run it in a daemon thread.
    `clock` (epoch seconds) and `resolver` (DNS) are seams for tests."""

    def __init__(
        self,
        settings: Settings,
        db: Engine,
        storage: Storage,
        signer: UrlSigner,
        *,
        clock: Callable[[], float] = time.time,
        resolver: Resolver | None = None,
    ):
        self.settings = settings
        self.db = db
        self.bodies = Bodies(settings, db, storage, signer)
        self.clock = clock
        self.resolver = resolver
        # an attempt ends within the timeout; the rest is rendering and two small writes
        self.lease_seconds = 2 * settings.webhook_timeout_seconds + 10.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), daemon=True,
                                        name="webhook sender")  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        """Stop after the attempt in flight (at most the webhook timeout) and join."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.settings.webhook_timeout_seconds + 5.0)
            self._thread = None

    def run(self, stop: threading.Event) -> None:
        """The loop: send what is due, else wait one poll; purge now and then."""
        backoff = faults.Backoff(FAULT_FIRST_SECONDS, FAULT_MAX_SECONDS)
        next_purge = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_purge:
                    self.purge()
                    next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                sent = self.send_one()
                backoff.reset()
            except Exception as exc:
                delay = backoff.next()
                fault = faults.fault_of(exc)
                if fault is None:  # a bug: say where, and go on with the next delivery
                    log.error("webhook sender failed; again in %g s", delay, exc_info=exc)
                else:
                    log.warning("webhook sender: %s (%s); again in %g s",
                                fault.what, fault.detail, delay)  # fmt: skip
                stop.wait(delay)
                continue
            if not sent:
                stop.wait(self.settings.poll_seconds)

    def send_one(self) -> bool:
        """Claim one due delivery and make one attempt; False when none was due."""
        row = self.claim()
        if row is None:
            return False
        self.attempt(row)
        return True

    def claim(self) -> Any:
        """Step 1: the oldest due delivery, leased to this sender (None: nothing due)."""
        now = self.clock()
        until = now + self.lease_seconds
        due = (
            select(_d.c.id)
            .where(_d.c.status == PENDING, _d.c.next_attempt_at <= now)
            .order_by(_d.c.next_attempt_at, _d.c.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self.db.begin() as conn:
            return conn.execute(
                update(_d)
                .where(_d.c.id == due.scalar_subquery())
                .values(next_attempt_at=until, lease_until=until)
                .returning(*_d.c)
            ).one_or_none()

    def attempt(self, row: Any) -> str | None:
        """Steps 2-4 for a claimed `row`: its outcome (delivered, retry, gave_up), or None
        when the lease was lost meanwhile (the sender that holds it now records it)."""
        started = self.clock()
        body = row.body
        try:
            if body is None:
                body = self.bodies.render(row)
                if not self._keep_body(row, body):
                    return None
            secret = secrets.read(self.db, row.owner)
        except (Unrenderable, NotFound) as exc:
            return self._record(row, started, Outcome(None, str(exc), 0.0), give_up=True)
        outcome = transport.post(
            row.url,
            body.encode(),
            sign(secret, row.id, body, started),
            timeout=self.settings.webhook_timeout_seconds,
            allow_private=self.settings.allow_private_urls,
            resolver=self.resolver,
        )
        return self._record(row, started, outcome, give_up=outcome.final)

    def _keep_body(self, row: Any, body: str) -> bool:
        with self.db.begin() as conn:
            kept = conn.execute(
                update(_d)
                .where(_d.c.id == row.id, _d.c.lease_until == row.lease_until, _d.c.body.is_(None))
                .values(body=body)
            ).rowcount
        return kept == 1

    def _record(
        self, row: Any, started: float, outcome: Outcome, *, give_up: bool = False
    ) -> str | None:
        """Step 4: the attempt and the delivery's next state, in one fenced transaction."""
        n = row.attempts + 1
        now = self.clock()
        values: dict[str, Any] = {"attempts": n, "lease_until": None}
        if outcome.delivered:
            result = "delivered"
            values.update(status=DELIVERED, finished_at=now)
        else:
            retry_at = now + self.retry_delay(n)
            give_up = (
                give_up or retry_at > row.created_at + self.settings.webhook_retry_hours * 3600
            )
            result = "gave_up" if give_up else "retry"
            if give_up:
                values.update(status=FAILED, finished_at=now)
            else:
                values.update(next_attempt_at=retry_at)
        with self.db.begin() as conn:
            changed = conn.execute(
                update(_d)
                .where(_d.c.id == row.id, _d.c.lease_until == row.lease_until)
                .values(**values)
            ).rowcount
            if changed != 1:
                return None
            conn.execute(
                insert(_a).values(
                    delivery_id=row.id,
                    attempt=n,
                    at=started,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    seconds=outcome.seconds,
                )
            )
        metrics.webhook_attempt(row.event, result)
        if not outcome.delivered:
            then = "given up" if give_up else f"again in {self.retry_delay(n):g} s"
            log.info("webhook %s (%s of %s) attempt %d: %s; %s",
                     row.id, row.event, row.job_id, n, outcome.error, then)  # fmt: skip
        return result

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: first, doubling, capped."""
        first = self.settings.webhook_retry_seconds
        return min(self.settings.webhook_retry_max_seconds, first * 2 ** min(attempts - 1, 32))

    def purge(self) -> int:
        """Delete deliveries (delivered or not) and their attempts past `expires_at`."""
        now = self.clock()
        with self.db.begin() as conn:
            old = select(_d.c.id).where(_d.c.expires_at <= now)
            conn.execute(delete(_a).where(_a.c.delivery_id.in_(old)))
            return int(conn.execute(delete(_d).where(_d.c.expires_at <= now)).rowcount)
