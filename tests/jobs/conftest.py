"""A fresh job queue on SQLite and, where one is reachable, on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy
from sqlalchemy import text

from reelforge.jobs import JobQueue, connect, migrate

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """A private schema on the local PostgreSQL, or None when none is reachable."""
    try:
        engine = sqlalchemy.create_engine(POSTGRES)
        with engine.connect():
            pass
        engine.dispose()
    except sqlalchemy.exc.OperationalError:
        return None
    return POSTGRES


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL reachable on 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    # every connection of the test's engine works inside its own schema
    yield f"{url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def make_queue(database_url):
    engines = []

    def make(*, retention: float = 3600, lease: float = 30, max_attempts: int = 3) -> JobQueue:
        engine = connect(database_url)
        engines.append(engine)
        migrate(engine)
        return JobQueue(engine, retention=retention, lease=lease, max_attempts=max_attempts)

    yield make
    for engine in engines:
        engine.dispose()
