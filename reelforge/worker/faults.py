"""Telling this machine's faults from a request's, and backing off from them.

A job that fails because of its request (a bad input, an impossible task) ends FAILED.
A job that fails because the disk is full, a disk or the object store errs, or the
database is unreachable did nothing wrong: it goes back to the queue and runs again
once the fault may have passed (`retry_delay`), without using up its attempts.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from reelforge.jobs.db import SESSION_CUT

# errnos that say "this machine's disks", never "this request"
DISK_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE, errno.ENFILE}
)
MAX_RETRY_DELAY_SECONDS = 300.0  # a fault's back-off grows to this, then stays


class StorageFault(Exception):
    """Storing a finished output failed: whatever the store said, it was not the request."""


@dataclass(frozen=True)
class Fault:
    what: str  # "a storage error", "a full disk", "a disk error", "a database error"
    detail: str  # the underlying error, one line, for logs and a final FAILED message


def fault_of(exc: BaseException) -> Fault | None:
    """The infrastructure fault behind `exc` (itself, or anything in its chain of
    causes), or None when `exc` is not one: then it is a bug, or the request's fault."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, StorageFault):
            inner = cause.__cause__ or cause
            detail = _os_error(inner) if isinstance(inner, OSError) else one_line(inner)
            return Fault("a storage error", f"{cause}: {detail}")
        if isinstance(cause, OperationalError | InterfaceError) or session_cut(cause):
            return Fault("a database error", one_line(getattr(cause, "orig", None) or cause))
        if isinstance(cause, OSError) and cause.errno in DISK_ERRNOS:
            full = cause.errno in (errno.ENOSPC, errno.EDQUOT)
            return Fault("a full disk" if full else "a disk error", _os_error(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def session_cut(error: BaseException) -> bool:
    """Whether `error` is the database ending this connection's session: a fault of the
    connection, which a new one does not have, never of the job."""
    if not isinstance(error, DBAPIError):
        return False
    return error.connection_invalidated or getattr(error.orig, "sqlstate", None) in SESSION_CUT


def retry_delay(retries: int, first: float) -> float:
    """Back-off before a job's `retries`+1st run after a fault: first, doubling, capped."""
    return min(MAX_RETRY_DELAY_SECONDS, first * 2 ** min(retries, 32))


class Backoff:
    """Delays that double after each failure, from `first` up to `cap`, until `reset`."""

    def __init__(self, first: float, cap: float):
        self.first = first
        self.cap = cap
        self.failures = 0  # since the last reset

    def next(self) -> float:
        """Count one more failure; the delay to wait before trying again."""
        delay = min(self.cap, self.first * 2 ** min(self.failures, 32))
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


def _os_error(exc: OSError) -> str:
    """`OSError: [Errno 28] No space left on device`, without the file's name."""
    if exc.errno is None:
        return one_line(exc)
    return f"{type(exc).__name__}: [Errno {exc.errno}] {exc.strerror or os.strerror(exc.errno)}"


def one_line(exc: BaseException | object) -> str:
    """`Type: message`, first line only: fit for a log line or a user's error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
