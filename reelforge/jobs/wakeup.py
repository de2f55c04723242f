"""Waking idle workers when work arrives: PostgreSQL LISTEN/NOTIFY, else a short poll.

`JobQueue.submit` sends `NOTIFY reelforge_jobs` in the submitting transaction (so the
notification is delivered only once the job is visible). A worker blocks on its LISTEN
connection for at most `REELFORGE_POLL_SECONDS` and then claims; the timeout remains
as a backstop for lost notifications and for lease-expired jobs, which notify nobody.
On SQLite there is nothing to listen to, and the worker simply polls.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine

CHANNEL = "reelforge_jobs"
log = logging.getLogger("reelforge.worker")


class Wakeup:
    def __init__(self, engine: Engine):
        self._conn = None
        if engine.dialect.name == "postgresql":
            import psycopg

            url = engine.url.set(drivername="postgresql")
            self._conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> None:
        """Return when a job may be waiting, or after `timeout` seconds."""
        if self._conn is None:
            time.sleep(timeout)
            return
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except Exception:  # a dropped connection: fall back to polling for this round
            log.exception("LISTEN connection failed; polling")
            time.sleep(timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
