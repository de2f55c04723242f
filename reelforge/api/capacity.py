"""Whether this server can take more work: room on disk (else 507) and a database that
answers (else 503). Both sit on hot paths, so both are cheap: the disk is measured at most
once a second, and the database check gives up after a short timeout.

`service_error` says which of these an exception from deep inside a request stands for
(a driver's connection error, SQLite's "database or disk is full", ENOSPC), so that
`reelforge.api.app` answers 503 or 507 instead of a bare 500.
"""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import anyio
from sqlalchemy import Engine, make_url, text
from sqlalchemy import exc as db_errors

from reelforge.errors import ApiError, InsufficientStorage, ServiceUnavailable
from reelforge.jobs.db import SESSION_CUT, connect
from reelforge.settings import Settings

log = logging.getLogger("reelforge.api")

RETRY_AFTER_SECONDS = 5  # what a 503 asks clients to wait
READY_TIMEOUT_SECONDS = 2.0  # /readyz and the watch: how long the database may take
FULL = "storage is full: there is no room to store this request; retry once space is freed"
# SQLite primary result codes (the low byte of an extended code)
SQLITE_FULL = 13
SQLITE_BUSY_CODES = {5, 6}  # BUSY, LOCKED: another connection holds the database
SQLITE_UNREACHABLE_CODES = {10, 14}  # IOERR, CANTOPEN: the file cannot be read or opened


class DiskRoom:
    """Refuses work (InsufficientStorage, 507) while a directory that accepting work
    writes to has less than `min_free` bytes free. 0 turns the check off."""

    def __init__(self, paths: list[Path], min_free: int, every: float = 1.0):
        self.paths = paths
        self.min_free = min_free
        self.every = every  # seconds a measurement is reused
        self._measured_at = -every
        self._shortage: str | None = None

    def check(self) -> None:
        if not self.min_free:
            return
        if time.monotonic() - self._measured_at >= self.every:
            self._shortage = self._measure()
            self._measured_at = time.monotonic()
        if self._shortage:
            raise InsufficientStorage(self._shortage)

    def _measure(self) -> str | None:
        for path in self.paths:
            try:
                free = shutil.disk_usage(path).free
            except FileNotFoundError:  # not created yet: nothing written there so far
                continue
            if free < self.min_free:
                return (
                    f"storage is full: {path} has {free} bytes free, less than "
                    f"REELFORGE_MIN_FREE_BYTES ({self.min_free}); retry once space is freed"
                )
        return None


def work_dirs(settings: Settings) -> list[Path]:
    """Where accepting a submit or an upload writes: the data directory, the directory of
    an SQLite database, and local storage."""
    dirs = [settings.data_dir.resolve()]
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        dirs.append(Path(str(url.database)).resolve().parent)
    if settings.storage_url is None:
        dirs.append(settings.resolved_storage_dir)
    return list(dict.fromkeys(dirs))


async def database_problem(db: Engine, timeout: float) -> str | None:
    """None when the database answers a trivial query within `timeout` seconds, else why
    not (the driver's own words go to the log only: they name hosts and ports). The query
    runs in a thread that is abandoned, not waited for, past the timeout."""

    def ping() -> None:
        with db.connect() as conn:
            conn.execute(text("SELECT 1"))

    return await _answer_within(ping, timeout)


class DatabaseWatch:
    """Whether the database answered its latest probe, for refusing new requests at once
    while it does not. A PostgreSQL server that stops answering without closing its
    connections (a frozen process, a paused VM, a host gone dark) holds every statement
    sent to it: no statement timeout runs in a stopped server, and psycopg has no read
    timeout. The API probes it every `every` seconds (`run`, in the app's lifespan; one
    probe at a time: one that still waits is not doubled), and `check` answers 503 while
    the latest probe failed, so that new requests do not join the wait. Requests already
    waiting when it froze go on waiting. Off on SQLite, a local file."""

    def __init__(self, db: Engine, timeout: float, every: float = 1.0):
        self.enabled = db.dialect.name != "sqlite"
        # a connection of its own: a probe that queued behind busy requests for one of
        # the pool's would call a slow server frozen
        url = db.url.render_as_string(hide_password=False)
        self.db = connect(url, pool_size=1) if self.enabled else db
        self.timeout = timeout
        self.every = every
        self.problem: str | None = None
        self._waiting = False  # a probe's thread still waits on the database

    async def probe(self) -> str | None:
        """Ask the database now (or, while an earlier probe still waits, say it does not
        answer); the outcome is kept for `check`."""
        if self._waiting:
            self.problem = f"the database is unreachable: no answer within {self.timeout:g} s"
            return self.problem
        self._waiting = True

        def ping() -> None:
            try:
                with self.db.connect() as conn:
                    conn.execute(text("SELECT 1"))
            finally:
                self._waiting = False  # perhaps long after the probe gave up on it

        self.problem = await _answer_within(ping, self.timeout)
        return self.problem

    def check(self) -> None:
        """ServiceUnavailable (503, Retry-After) while the latest probe failed."""
        if self.enabled and self.problem:
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            raise ServiceUnavailable(f"{self.problem}; retry in a few seconds", headers=headers)

    async def run(self) -> None:
        while self.enabled:
            await self.probe()
            await anyio.sleep(self.every)

    def close(self) -> None:
        if self.enabled:
            self.db.dispose()


async def _answer_within(ping: Callable[[], None], timeout: float) -> str | None:
    try:
        with anyio.fail_after(timeout):
            await anyio.to_thread.run_sync(ping, abandon_on_cancel=True)
    except TimeoutError:
        return f"the database is unreachable: no answer within {timeout:g} s"
    except Exception as error:  # any driver's failure to connect or to answer
        log.warning("readiness: the database did not answer: %s", error)
        return f"the database is unreachable ({type(error).__name__}; see the server log)"
    return None


def service_error(error: BaseException) -> ApiError | None:
    """The 503 or 507 that `error` (or an exception it was raised from) stands for: the
    database unreachable or busy, or no room left on disk; None for anything else."""
    seen = 0
    cause: BaseException | None = error
    while cause is not None and seen < 8:
        if _disk_full(cause):
            return InsufficientStorage(FULL)
        reason = _database_down(cause)
        if reason:
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return ServiceUnavailable(f"{reason}; retry in a few seconds", headers=headers)
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def _disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    orig = error.orig if isinstance(error, db_errors.DBAPIError) else None
    code = getattr(orig, "sqlite_errorcode", None)
    # PostgreSQL's disk_full (53100): its own disk is full
    return (code is not None and code & 0xFF == SQLITE_FULL) or _sqlstate(orig) == "53100"


def _database_down(error: BaseException) -> str | None:
    if isinstance(error, db_errors.TimeoutError):  # no pooled connection came free in time
        return "the database is busy"
    if not isinstance(error, db_errors.DBAPIError):
        return None
    if error.connection_invalidated or _sqlstate(error.orig) in SESSION_CUT:
        return "the database is unreachable"
    if not isinstance(error, db_errors.OperationalError | db_errors.InterfaceError):
        return None
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:  # SQLite
        if code & 0xFF in SQLITE_BUSY_CODES:
            return "the database is busy"
        return "the database is unreachable" if code & 0xFF in SQLITE_UNREACHABLE_CODES else None
    state = _sqlstate(error.orig)
    # no SQLSTATE: the client library could not reach or lost the server; 08: connection
    # exceptions; 57P: the server is shutting down, crashed or starting
    if state is None or state.startswith(("08", "57P")):
        return "the database is unreachable"
    # 40: deadlock or serialization failure; 53300: too many connections; 55P03: lock
    if state.startswith("40") or state in ("53300", "55P03"):
        return "the database is busy"
    return None


def _sqlstate(orig: object) -> str | None:
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None
