"""A fresh job queue on SQLite and on PostgreSQL (a private schema; without a reachable
server that half is skipped, saying why), on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from reelforge.jobs import JobQueue, connect, migrate
from tests.support.clock import ManualClock


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def clock() -> ManualClock:
    """The time every queue of the test reads; `clock.advance(s)` moves it on."""
    return ManualClock()


@pytest.fixture
def make_queue(database_url, clock):
    """make_queue(retention=, lease=, max_attempts=) -> a JobQueue on the test's database
    (its own engine and connections, like another process) reading the test's `clock`."""
    engines = []

    def make(*, retention: float = 3600, lease: float = 30, max_attempts: int = 3) -> JobQueue:
        engine = connect(database_url)
        engines.append(engine)
        migrate(engine)
        return JobQueue(
            engine, retention=retention, lease=lease, max_attempts=max_attempts, clock=clock
        )

    yield make
    for engine in engines:
        engine.dispose()
