"""An idle worker on PostgreSQL sleeps on LISTEN; a dropped LISTEN connection (a
restart, a failover, an administrator's pg_terminate_backend) is opened again, so that
new jobs wake the worker again instead of waiting out every poll from then on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from reelforge.jobs import connect
from reelforge.jobs.wakeup import CHANNEL, Wakeup


@pytest.fixture
def pg(pg_schema_url: str) -> Iterator[Engine]:
    db = connect(pg_schema_url)
    yield db
    db.dispose()


def _notify(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("SELECT pg_notify(:channel, 'pixverse-v6')"), {"channel": CHANNEL})


def _woken_within(wakeup: Wakeup, db: Engine, timeout: float = 10.0) -> float:
    """Seconds a wait with `timeout` took when a job is submitted 0.5 s in."""
    timer = threading.Timer(0.5, _notify, args=(db,))
    timer.start()
    started = time.monotonic()
    wakeup.wait(timeout)
    timer.join()
    return time.monotonic() - started


def test_a_dropped_listen_connection_is_opened_again(pg, caplog):
    wakeup = Wakeup(pg)
    try:
        assert _woken_within(wakeup, pg) < 3
        first = wakeup._conn.info.backend_pid
        with pg.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
        caplog.set_level(logging.WARNING, logger="reelforge.worker")
        wakeup.wait(0.5)  # finds the connection gone
        for _ in range(3):  # woken by notifications again, not by the poll timeout
            assert _woken_within(wakeup, pg) < 3
        assert wakeup._conn.info.backend_pid != first
        assert "LISTEN connection lost" in caplog.text
    finally:
        wakeup.close()
