"""Wake-ups between the processes of one machine on SQLite: Unix datagram sockets.

PostgreSQL carries wake-ups itself (LISTEN/NOTIFY: wakeup.py, changes.py); SQLite has
nothing like it, so an idle worker or stream reader would only learn of a change at its
next poll. Instead, each listening process binds `<kind>-<pid>-<random>.sock` in a
directory beside the database file (`<db dir>/.reelforge-wake/`, or, where that path is
too long for AF_UNIX or cannot be used, `<temp dir>/reelforge-wake-<hash of the db
path>/`). Kinds: `worker` (new jobs) and `api` (job changes, for the stream's readers
and waiting sync calls). A poke sends one byte, without blocking, to every socket of a
kind in those directories, once the transaction that made the change has committed
(`after_commit`): a woken reader then surely sees the change.

A poke is only a hint: a full socket buffer (the listener has pokes pending anyway), a
socket that vanished, or a process that could not bind (it logged one warning) costs at
most the listener's poll period, which stays the fallback. A socket whose process died
without closing it (SIGKILL) refuses datagrams; the poke that finds it removes its file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

WORKER = "worker"  # idle workers: a job was submitted
API = "api"  # API processes: a job changed
DIR_NAME = ".reelforge-wake"
MAX_SOCKET_PATH = 107  # bytes of an AF_UNIX path (sun_path is 108 with its NUL)
MAX_NAME = len("worker-4194304-0123456789abcdef.sock")  # the longest name we bind
_PENDING = "reelforge_pokes_pending"  # Connection.info: pokes of the open transaction
_COMMITTED = "reelforge_pokes_committed"  # ... of a committed one, sent at check-in
log = logging.getLogger("reelforge.jobs")

_hooked: weakref.WeakSet[Engine] = weakref.WeakSet()
_hook_lock = threading.Lock()


def database_of(db: Engine | Connection) -> str | None:
    """The absolute path of `db`'s SQLite file; None for PostgreSQL or in-memory SQLite."""
    url = db.engine.url
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):  # a URI filename: ours are plain paths
        return None
    return os.path.abspath(name)


def directories(database: str) -> list[Path]:
    """Where sockets of `database`'s processes may be, in the order a listener tries them."""
    digest = hashlib.sha256(database.encode()).hexdigest()[:16]
    found = [Path(tempfile.gettempdir()) / f"reelforge-wake-{digest}"]
    primary = Path(database).parent / DIR_NAME
    if len(os.fsencode(primary)) + 1 + MAX_NAME <= MAX_SOCKET_PATH:
        found.insert(0, primary)
    return found


class Doorbell:
    """One process's socket of one kind: `wait` returns when poked, or at the timeout."""

    def __init__(self, sock: socket.socket, path: Path):
        self._sock = sock
        self.path = path

    @classmethod
    def open(cls, database: str, kind: str) -> Doorbell | None:
        """Bind a socket for `kind` beside `database`; None (one warning) where no
        directory can hold one: the caller then polls."""
        reasons = []
        for directory in directories(database):
            path = directory / f"{kind}-{os.getpid()}-{secrets.token_hex(8)}.sock"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                _bind(sock, path)
            except OSError as exc:
                sock.close()
                reasons.append(f"{directory}: {exc.strerror or exc}")
                continue
            return cls(sock, path)
        log.warning("cannot bind a wake-up socket (%s); polling instead", "; ".join(reasons))
        return None

    def fileno(self) -> int:
        return self._sock.fileno()

    def wait(self, timeout: float) -> bool:
        """True when poked (every pending poke is taken), False after `timeout` s."""
        self._sock.settimeout(max(0.0, timeout))
        try:
            self._sock.recv(64)
        except (TimeoutError, BlockingIOError):
            return False
        self._sock.setblocking(False)
        while True:  # pokes that came meanwhile are answered by the same re-read
            try:
                self._sock.recv(64)
            except BlockingIOError:
                return True

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(OSError):  # the last one out leaves no directory behind
            self.path.parent.rmdir()


def poke(database: str, kind: str) -> None:
    """Wake every process listening for `kind` beside `database`; never blocks or raises."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for directory in directories(database):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                if not (name.startswith(f"{kind}-") and name.endswith(".sock")):
                    continue
                path = os.path.join(directory, name)
                try:
                    sender.sendto(b"!", os.fsencode(path))
                except ConnectionRefusedError:
                    # nobody holds it: its process died without closing it (SIGKILL)
                    _remove(path)
                except OSError as exc:
                    # gone since the listing, or its buffer full (pokes pending anyway)
                    if exc.errno not in (errno.ENOENT, errno.EAGAIN):
                        log.debug("wake-up poke to %s failed: %s", path, exc)


def after_commit(conn: Connection, kind: str) -> None:
    """Poke `kind` once the transaction open on `conn` has committed (SQLite files;
    a no-op elsewhere). Many calls in one transaction make one poke."""
    database = database_of(conn)
    if database is None:
        return
    _hook(conn.engine)
    conn.info.setdefault(_PENDING, set()).add((database, kind))


def _hook(db: Engine) -> None:
    """Send a transaction's pokes when its connection goes back to the pool after the
    commit (SQLAlchemy's `commit` event comes just before the commit itself)."""
    with _hook_lock:
        if db in _hooked:
            return
        event.listen(db, "commit", _on_commit)
        event.listen(db, "rollback", _on_rollback)
        event.listen(db, "checkin", _on_checkin)
        _hooked.add(db)


def _on_commit(conn: Connection) -> None:
    pending = conn.info.pop(_PENDING, None)
    if pending:
        conn.info.setdefault(_COMMITTED, set()).update(pending)


def _on_rollback(conn: Connection) -> None:
    # a connection invalidated mid-statement (a SIGTERM's Shutdown raised inside it) has
    # no info to clear, and asking for it raises PendingRollbackError: an Exception that
    # would replace the Shutdown and fail the job instead of handing it back
    if conn.invalidated:
        return
    conn.info.pop(_PENDING, None)


def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
    if record is None:  # invalidated: its info went with it
        return
    for database, kind in record.info.pop(_COMMITTED, ()):
        poke(database, kind)


def _bind(sock: socket.socket, path: Path) -> None:
    for attempt in range(3):
        _usable(path.parent)
        try:
            sock.bind(os.fsencode(path))
            return
        except FileNotFoundError:  # the last process out removed the directory just now
            if attempt == 2:
                raise


def _usable(directory: Path) -> None:
    """Create `directory` (private to this user) or check that an existing one is ours."""
    directory.mkdir(mode=0o700, exist_ok=True)
    info = directory.lstat()
    if not directory.is_dir() or directory.is_symlink():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory")
    if info.st_uid != os.getuid():
        raise PermissionError(errno.EPERM, "owned by another user")


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
