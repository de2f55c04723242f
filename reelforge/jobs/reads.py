"""The status route's reads, with as little machinery as a read needs.

`GET /v2/requests/{id}/status` is polled more than anything else. Through the queue a read
is a pooled connection, `BEGIN IMMEDIATE` (jobs/db.py takes SQLite's write lock in every
transaction, so the read would also wait behind the worker's writes), the statement, the
commit and SQLAlchemy's result objects: about 30 times the cost of the row itself.

On SQLite, `Reads` keeps one read-only connection per thread in autocommit instead: each
SELECT is its own read transaction, and in WAL mode a reader neither waits for a writer
nor makes one wait. The SQL and the column conversions are SQLAlchemy's own, compiled
once from the schema (jobs/schema.py), so the rows are exactly the queue's. Such a read
costs tens of microseconds and no lock, cheap enough for the API's event loop
(`inline`); a reader that finds the database busy (a WAL recovery) fails at once with
sqlite3.Error and the caller takes the queue's path.

A thread's reads also keep what they read while the database has not changed: each
read first asks its connection for SQLite's `PRAGMA data_version` (a few microseconds; it
changes whenever another connection, of any process, commits), and while it is the same,
a job read before (and a QUEUED job's place) is answered from memory, checked only for
its expiry. A job polled thousands of times a second is decoded again only after a write.

On PostgreSQL (or an in-memory SQLite) every read is the queue's.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, select

from reelforge.jobs import fleet, signals
from reelforge.jobs.queue import JobQueue
from reelforge.jobs.record import Job, Status, is_job_id
from reelforge.jobs.schema import jobs, workers

BUSY_TIMEOUT_MS = 50  # a reader that would wait longer gives way to the queue's path
MANY_SIZES = 256  # compiled SELECTs of several ids kept, one per count
KEPT_PER_THREAD = 1_000  # reads a thread keeps between two writes (then it starts over)
# live workers change at their heartbeat's pace (seconds): one read serves the QUEUED
# status polls of this long
SERVING_SECONDS = 0.5


class Reads:
    def __init__(self, queue: JobQueue):
        self.queue = queue
        db = queue.db
        self._path = signals.database_of(db) if db.dialect.name == "sqlite" else None
        self._local = threading.local()
        # every live thread's connection, for close(); a thread's own goes when it ends
        self._opened: weakref.WeakSet[_Opened] = weakref.WeakSet()
        self._lock = threading.Lock()
        if self._path is None:
            return
        dialect = db.dialect
        by_id = select(jobs).where(
            jobs.c.id == bindparam("id"), jobs.c.expires_at > bindparam("now")
        )
        self._job_sql, self._job_params = _compiled(by_id, dialect)
        self._names = [column.name for column in jobs.c]
        fields = {field.name for field in dataclasses.fields(Job)}
        if set(self._names) != fields:  # a column without a field, or the other way
            raise RuntimeError(f"jobs columns {sorted(self._names)} != Job fields {sorted(fields)}")
        # (position, conversion) of the columns SQLite does not hand back as they are
        # (JSON text, 0/1 for booleans): SQLAlchemy's own result processors
        self._convert: list[tuple[str, Callable[[Any], Any]]] = [
            (column.name, convert)
            for column in jobs.c
            if (convert := column.type.result_processor(dialect, None)) is not None
        ]
        ahead = (
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.status == bindparam("queued"), jobs.c.created_at < bindparam("created"))
        )
        self._ahead_sql, self._ahead_params = _compiled(ahead, dialect)
        self._many: dict[int, tuple[str, list[str]]] = {}
        self._serving: tuple[float, float, dict[str, int]] | None = None  # (within, at, counts)
        live = select(workers.c.slugs).where(workers.c.heartbeat_at >= bindparam("cutoff"))
        self._live_sql, self._live_params = _compiled(live, dialect)
        self._slugs = workers.c.slugs.type.result_processor(dialect, None)

    @property
    def inline(self) -> bool:
        """Whether `job` is cheap enough to call on the event loop (SQLite's own reads)."""
        return self._path is not None

    def job(self, job_id: str) -> Job | None:
        """The job, or None when it never existed or has expired (JobQueue.get). On the
        fast path, sqlite3.Error when the database is busy or failing."""
        if self._path is None or not is_job_id(job_id):
            return self.queue.get(job_id)  # which refuses what cannot be an id
        now = self.queue.clock()
        kept = self._kept()
        job = kept.get(job_id)
        if job is not None and job.expires_at > now:
            return job
        values = {"id": job_id, "now": now}
        row = self._conn().execute(self._job_sql, [values[p] for p in self._job_params]).fetchone()
        if row is None:
            return None
        job = self._job_of(row)
        if len(kept) >= KEPT_PER_THREAD:
            kept.clear()
        kept[job_id] = job
        return job

    def _kept(self) -> dict[Any, Any]:
        """This thread's reads since the database last changed (`data_version`), which
        this call checks: one tiny statement instead of a row read and its decoding."""
        local = self._local
        version = self._conn().execute("PRAGMA data_version").fetchone()[0]
        if getattr(local, "version", None) != version:
            local.version, local.kept = version, {}
        kept: dict[Any, Any] = local.kept
        return kept

    def _job_of(self, row: tuple[Any, ...]) -> Job:
        record = dict(zip(self._names, row, strict=True))
        for name, convert in self._convert:
            record[name] = convert(record[name])
        record["status"] = Status(record["status"])
        # the frozen dataclass's __init__ sets each of its 30 fields through
        # object.__setattr__, the larger share of the read: fill the snapshot at once
        # (the columns are exactly its fields, checked in __init__)
        job = Job.__new__(Job)
        job.__dict__.update(record)
        return job

    def _many_sql(self, count: int) -> tuple[str, list[str]]:
        """The SELECT of `count` ids, compiled once per count."""
        found = self._many.get(count)
        if found is None:
            ids: list[Any] = [bindparam(f"id{index}") for index in range(count)]
            statement = select(jobs).where(jobs.c.id.in_(ids), jobs.c.expires_at > bindparam("now"))
            found = _compiled(statement, self.queue.db.dialect)
            if len(self._many) < MANY_SIZES:
                self._many[count] = found
        return found

    def jobs(self, job_ids: list[str]) -> list[Job]:
        """The jobs of `job_ids` that exist and have not expired (the stream's reader);
        sqlite3.Error on the fast path when the database is busy or failing."""
        job_ids = [job_id for job_id in job_ids if is_job_id(job_id)]
        if self._path is None or not job_ids:
            return self.queue.get_many(job_ids)
        sql, order = self._many_sql(len(job_ids))
        values: dict[str, Any] = {f"id{index}": job_id for index, job_id in enumerate(job_ids)}
        values["now"] = self.queue.clock()
        rows = self._conn().execute(sql, [values[p] for p in order]).fetchall()
        return [self._job_of(row) for row in rows]

    def queue_position(self, job: Job) -> int:
        """How many QUEUED jobs will be claimed before this one (JobQueue.queue_position);
        sqlite3.Error on the fast path when the database is busy or failing."""
        if self._path is None:
            return self.queue.queue_position(job)
        kept = self._kept()
        key = ("ahead", job.created_at)  # beside the jobs: no job id is a tuple
        ahead = kept.get(key)
        if ahead is None:
            values = {"queued": Status.QUEUED.value, "created": job.created_at}
            params = [values[p] for p in self._ahead_params]
            ahead = kept[key] = int(self._conn().execute(self._ahead_sql, params).fetchone()[0])
        return int(ahead)

    def serving(self, within: float) -> dict[str, int]:
        """slug -> live workers serving it (fleet.serving); sqlite3.Error like `job`."""
        if self._path is None:
            return fleet.serving(self.queue.db, within)
        now = time.monotonic()
        cached = self._serving
        if cached is not None and cached[0] == within and now - cached[1] < SERVING_SECONDS:
            return cached[2]
        rows = self._conn().execute(self._live_sql, [time.time() - within]).fetchall()
        counts: dict[str, int] = {}
        for (raw,) in rows:
            slugs: list[str] = (self._slugs(raw) if self._slugs is not None else raw) or []
            for slug in slugs:
                counts[slug] = counts.get(slug, 0) + 1
        self._serving = (within, now, counts)
        return counts

    def close(self) -> None:
        with self._lock:
            opened = list(self._opened)
            self._opened.clear()
        for held in opened:
            held.conn.close()

    def _conn(self) -> sqlite3.Connection:
        held: _Opened | None = getattr(self._local, "held", None)
        if held is None:
            assert self._path is not None
            # one per thread, used by that thread alone (close() may come from another)
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only=1")  # this connection never writes
            held = self._local.held = _Opened(conn)
            with self._lock:
                self._opened.add(held)
        return held.conn


class _Opened:
    """One thread's connection. Only that thread's `threading.local` holds it, so it is
    closed when the thread ends: the API's thread pool starts and retires threads all the
    time (a burst of stream watchers, then a quiet minute), and a list of every thread's
    connection kept one open file per thread ever started (issue 21: 25 -> 480 fds)."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        weakref.finalize(self, conn.close)


def _compiled(statement: Any, dialect: Any) -> tuple[str, list[str]]:
    """`statement` as the SQL text SQLite runs, and the order of its `?` parameters."""
    compiled = statement.compile(dialect=dialect)
    return str(compiled), list(compiled.positiontup or [])
