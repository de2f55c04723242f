"""Waking idle workers when work arrives: PostgreSQL LISTEN/NOTIFY, or a local socket.

`JobQueue.submit` calls `notify`: on PostgreSQL it sends `NOTIFY reelforge_jobs` in the
submitting transaction (delivered only once the job is visible); on SQLite it pokes the
workers' sockets beside the database once that transaction committed (signals.py). A
worker blocks on its LISTEN connection or socket for at most `REELFORGE_POLL_SECONDS`
and then claims; the timeout remains as a backstop for lost notifications and for
lease-expired jobs, which notify nobody. Where no socket can be bound (or for an
in-memory database) the worker simply polls.

A LISTEN connection that drops (a database restart, a failover, an administrator's
pg_terminate_backend) is opened again at once; while that fails, the worker polls and
tries again after a back-off of 1 s doubling to 30 s.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, Engine, text

from reelforge.jobs import changes, signals

CHANNEL = "reelforge_jobs"
KINDS = {CHANNEL: signals.WORKER, changes.CHANNEL: signals.API}  # SQLite: socket kinds
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0
log = logging.getLogger("reelforge.worker")


def notify(conn: Connection, slug: str) -> None:
    """Wake idle workers once the transaction on `conn` that queued a `slug` job commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, :slug)"), {"channel": CHANNEL, "slug": slug})
    else:
        signals.after_commit(conn, signals.WORKER)


class Wakeup:
    """LISTENs on `channel` (new jobs by default; API processes use it for job changes);
    on SQLite, binds a socket of that channel's kind (signals.py)."""

    def __init__(self, db: Engine, channel: str = CHANNEL):
        self._channel = channel
        self._url: str | None = None
        self._conn: Any = None  # a psycopg.Connection in autocommit, LISTENing
        self._failures = 0  # connection attempts failed in a row
        self._next_try = 0.0  # monotonic time of the next connection attempt
        self._bell: signals.Doorbell | None = None  # SQLite: this process's socket
        if db.dialect.name == "postgresql":
            url = db.url.set(drivername="postgresql")
            self._url = url.render_as_string(hide_password=False)
            self._connect()
        elif (database := signals.database_of(db)) is not None:
            self._bell = signals.Doorbell.open(database, KINDS[channel])

    @property
    def listening(self) -> bool:
        """Whether notifications can arrive at all (PostgreSQL, or a bound socket)."""
        return self._url is not None or self._bell is not None

    def wait(self, timeout: float) -> bool:
        """Return when a job may be waiting, or after `timeout` seconds. True when a
        notification came (or may have been missed: a lost connection), else False."""
        if self._bell is not None:
            return self._bell.wait(timeout)
        if self._url is None:
            time.sleep(timeout)
            return False
        import psycopg

        deadline = time.monotonic() + timeout
        if self._conn is None and not self._connect():
            time.sleep(timeout)
            return False
        notified = False
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                notified = True
        except psycopg.Error as exc:
            log.warning("LISTEN connection lost (%s); opening it again", _first_line(exc))
            self._close()
            # a job submitted while we were not listening notified nobody: claim first
            if self._connect():
                return True
            time.sleep(max(0.0, deadline - time.monotonic()))
            return True
        return notified

    def close(self) -> None:
        self._close()
        bell, self._bell = self._bell, None
        if bell is not None:
            bell.close()

    def _connect(self) -> bool:
        """Open the LISTEN connection, unless the last failure is too recent."""
        import psycopg

        if self._url is None or time.monotonic() < self._next_try:
            return False
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
            conn.execute(f"LISTEN {self._channel}")
        except psycopg.Error as exc:
            delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2**self._failures)
            self._failures += 1
            self._next_try = time.monotonic() + delay
            log.warning(
                "could not LISTEN for new jobs (%s); polling, next try in %g s",
                _first_line(exc),
                delay,
            )
            return False
        self._conn, self._failures, self._next_try = conn, 0, 0.0
        return True

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to give back
                log.debug("closing the LISTEN connection failed", exc_info=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
