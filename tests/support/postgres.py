"""The one way tests and benchmarks use the local PostgreSQL (127.0.0.1:5432, database
`test`; REELFORGE_TEST_POSTGRES names another): is it there, and a private schema on it.

Every connection made with the URL that `private_schema` yields works inside that one
schema (`options=-csearch_path=<schema>`), so a child process given it as
REELFORGE_DATABASE_URL sees only its own test's tables.

Without a reachable server the PostgreSQL tests are skipped, saying why; on CI (CI or
REELFORGE_TEST_REQUIRE_POSTGRES set), where there is one, they fail instead, so that a
broken service never passes as a green run. The fixtures are `postgres_url` and
`pg_schema_url` in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import sqlalchemy
from sqlalchemy import text

from tests.support.environment import unavailable

POSTGRES = os.environ.get(
    "REELFORGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_reachable(url: str = POSTGRES) -> str | None:
    """None when a connection works, else why not (for a skip message)."""
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except sqlalchemy.exc.OperationalError as exc:
        return f"no PostgreSQL reachable at {url}: {str(exc.orig).strip().splitlines()[0]}"
    return None


def require_postgres(url: str = POSTGRES) -> str:
    """`url` when it is reachable; else the calling test is skipped (failed on CI)."""
    reason = postgres_reachable(url)
    if reason is None:
        return url
    unavailable(reason)


def schema_url(schema: str, url: str = POSTGRES) -> str:
    """`url` with every connection's search_path set to `schema`."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def private_schema(prefix: str = "t", url: str = POSTGRES) -> Iterator[str]:
    """Create a fresh schema, yield a database URL confined to it, drop it afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        yield schema_url(schema, url)
    finally:
        with admin.connect() as conn:
            # every process using the schema should be gone by now; do not hang on one
            # that is not (a stopped process's open transaction holds its locks)
            conn.execute(text("SET lock_timeout = '15s'"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
