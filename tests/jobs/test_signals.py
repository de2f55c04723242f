"""SQLite wake-ups between processes (reelforge/jobs/signals.py): a submit pokes the
workers' sockets once committed (never for a rolled-back transaction), a socket left by a
killed process is removed by the next poke and does not stop it, a database path too long
for AF_UNIX uses the temp dir, and where no directory can be used the process polls."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from reelforge.jobs import JobQueue, NewJob, connect, migrate, signals
from reelforge.jobs.wakeup import CHANNEL, Wakeup

NEW = NewJob(slug="pixverse-v6", owner="admin", params={"prompt": "x"})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = connect(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _queue(db: Engine) -> JobQueue:
    return JobQueue(db, retention=3600, lease=30, max_attempts=3)


def test_a_submit_wakes_a_waiting_worker_once_committed(db):
    wakeup = Wakeup(db, CHANNEL)
    try:
        assert wakeup.listening
        assert wakeup.wait(0.05) is False  # nothing yet: the timeout
        _queue(db).submit(NEW)
        started = time.monotonic()
        assert wakeup.wait(30) is True
        assert time.monotonic() - started < 5
        assert wakeup.wait(0.05) is False  # one wake-up per submit, taken at once
    finally:
        wakeup.close()
    database = signals.database_of(db)
    assert database is not None
    assert not signals.directories(database)[0].exists()  # the last one out removed it


def test_a_rolled_back_transaction_pokes_nobody(db):
    wakeup = Wakeup(db, CHANNEL)
    try:
        with pytest.raises(RuntimeError), db.begin() as conn:
            _queue(db).submit_in(conn, NEW)
            raise RuntimeError("changed my mind")
        assert wakeup.wait(0.3) is False
        assert _queue(db).claim("w") is None  # and indeed there is no job
    finally:
        wakeup.close()


class _Interrupt(BaseException):
    """What the worker's SIGTERM handler raises (Shutdown): not an Exception."""


def test_an_interrupt_inside_a_statement_stays_the_interrupt(db, monkeypatch):
    """A signal that lands inside a statement invalidates its connection; the rollback
    hook must not then raise PendingRollbackError over it (a worker's SIGTERM turned
    into 'internal error while generating' and failed the job it should hand back)."""
    queue = _queue(db)
    job = queue.submit(NEW)  # hooks the engine's commit and rollback events
    executed = db.dialect.do_execute

    def interrupted(cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("BEGIN"):  # inside the transaction, as a signal would be
            return executed(cursor, statement, *args)
        raise _Interrupt

    monkeypatch.setattr(db.dialect, "do_execute", interrupted)
    with pytest.raises(_Interrupt):
        queue.claim("w")
    monkeypatch.setattr(db.dialect, "do_execute", executed)
    claimed = queue.claim("w")  # the pool gives a good connection again
    assert claimed is not None and claimed.id == job.id


def test_a_stale_socket_of_a_dead_process_is_removed_and_others_still_woken(db):
    database = signals.database_of(db)
    assert database is not None
    wakeup = Wakeup(db, CHANNEL)
    directory = signals.directories(database)[0]
    stale = directory / "worker-999999-deadbeef.sock"
    # a process that bound its socket and died without closing it (as SIGKILL leaves it)
    code = "import os, socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1]); os._exit(0)"  # noqa: E501
    subprocess.run([sys.executable, "-c", code, str(stale)], check=True, timeout=30)
    assert stale.is_socket()
    try:
        _queue(db).submit(NEW)
        assert wakeup.wait(30) is True
        assert not stale.exists()
    finally:
        wakeup.close()


def test_a_path_too_long_for_af_unix_uses_the_temp_dir(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    db = connect(f"sqlite:///{deep / 'jobs.db'}")
    migrate(db)
    wakeup = Wakeup(db, CHANNEL)
    try:
        assert wakeup.listening
        database = signals.database_of(db)
        assert database is not None
        assert signals.directories(database)[0].parent == Path(signals.tempfile.gettempdir())
        _queue(db).submit(NEW)
        assert wakeup.wait(30) is True
    finally:
        wakeup.close()
        db.dispose()


def test_a_directory_that_cannot_be_used_falls_back_to_polling(db, tmp_path, monkeypatch, caplog):
    database = signals.database_of(db)
    assert database is not None
    monkeypatch.setattr(signals.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    for blocked in signals.directories(database):  # a file where each directory would be
        blocked.write_text("not a directory")
    caplog.set_level(logging.WARNING, logger="reelforge.jobs")
    wakeup = Wakeup(db, CHANNEL)
    try:
        assert not wakeup.listening
        assert caplog.text.count("cannot bind a wake-up socket") == 1
        _queue(db).submit(NEW)  # the poke finds nobody, and does not fail the submit
        started = time.monotonic()
        assert wakeup.wait(0.3) is False  # a plain poll period
        assert time.monotonic() - started >= 0.25
        assert _queue(db).claim("w") is not None
    finally:
        wakeup.close()
