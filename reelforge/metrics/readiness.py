"""What /readyz checks beyond a database that answers: the schema is the one this code
was written for, and (REELFORGE_READY_NEEDS_WORKERS) every model has a live worker.

The schema check is cached (`OK_SECONDS` when current, `PROBLEM_SECONDS` when not, so
a fixed schema turns the probe green soon); the worker check is one indexed query on a
table of a few rows, made at every probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from reelforge.jobs import fleet
from reelforge.jobs.db import MIGRATIONS

OK_SECONDS = 60.0  # a current schema is checked again after a minute
PROBLEM_SECONDS = 5.0  # one that was not, after 5 s


class Readiness:
    """The checks, for one database; `problem()` is None when ready, else why not."""

    def __init__(
        self,
        db: Engine,
        slugs: Sequence[str],
        heartbeat_seconds: float,
        *,
        needs_workers: bool,
    ):
        self.db = db
        self.slugs = list(slugs)
        self.within = fleet.live_window(heartbeat_seconds)
        self.needs_workers = needs_workers
        scripts = ScriptDirectory(str(MIGRATIONS))
        self.head = scripts.get_current_head()
        self.known = {script.revision for script in scripts.walk_revisions()}
        self._lock = threading.Lock()
        self._schema: tuple[float, str | None] = (0.0, None)  # (valid until, verdict)

    def problem(self) -> str | None:
        return self.schema_problem() or (self.workers_problem() if self.needs_workers else None)

    def schema_problem(self) -> str | None:
        with self._lock:
            until, verdict = self._schema
            if time.monotonic() < until:
                return verdict
            verdict = self._check_schema()
            keep = PROBLEM_SECONDS if verdict else OK_SECONDS
            self._schema = (time.monotonic() + keep, verdict)
            return verdict

    def _check_schema(self) -> str | None:
        with self.db.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == self.head:
            return None
        if current is not None and current not in self.known:
            # a newer release migrated already: migrations only add tables and columns,
            # so this code still works (docs/deployment.md, Upgrades); a rolling upgrade
            # must not take every old replica out of the balancer at once
            return None
        return (
            f"the database schema is at revision {current or '(none)'}, this code needs "
            f"{self.head}; start any reelforge process on this database to migrate it"
        )

    def workers_problem(self) -> str | None:
        serving = fleet.serving(self.db, self.within)
        missing = [slug for slug in self.slugs if not serving.get(slug)]
        if not missing:
            return None
        return f"no live worker serves {', '.join(missing)}"
