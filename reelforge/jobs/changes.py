"""Telling watchers that a job changed: PostgreSQL NOTIFY, sent inside the transaction
that made the change (so it is delivered only once the change is visible). API processes
LISTEN on it (`reelforge.api.watch`) and re-read the jobs their clients watch; on SQLite
there is nothing to listen to and they read those jobs a few times a second instead.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

CHANNEL = "reelforge_job_changes"


def announce(conn: Connection, job_id: str) -> None:
    """Notify listeners that `job_id` changed (PostgreSQL; a no-op elsewhere)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": job_id})
