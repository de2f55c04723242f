"""Telling watchers that a job changed: PostgreSQL NOTIFY, sent inside the transaction
that made the change (so it is delivered only once the change is visible), or on SQLite
a poke of the API processes' sockets once that transaction committed (signals.py). API
processes wait on it (`reelforge.api.watch`) and re-read the jobs their clients watch,
and read them a few times a second anyway (a lost poke, a process that cannot bind).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from reelforge.jobs import signals

CHANNEL = "reelforge_job_changes"


def announce(conn: Connection, job_id: str) -> None:
    """Notify listeners that `job_id` changed (PostgreSQL: NOTIFY; SQLite: after commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": job_id})
    else:
        signals.after_commit(conn, signals.API)
