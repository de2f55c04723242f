"""Connecting to the job database and bringing its schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text

MIGRATIONS = Path(__file__).with_name("migrations")


# any constant: the key of the advisory lock that serialises migrations on PostgreSQL
MIGRATION_LOCK_KEY = 0x5265656C  # "Reel"
# SQLSTATEs of a session PostgreSQL ended under a transaction (raised as an InternalError,
# not an OperationalError): idle in it past idle_in_transaction_session_timeout (a worker or
# a server frozen a while: its timers fire when it runs again), in it past
# transaction_timeout (PostgreSQL 17). The connection's fault, never the work's.
SESSION_CUT = ("25P03", "25P04")
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL, unless the URL sets connect_timeout itself


def connect(url: str, *, transaction_timeout: float = 10.0, pool_size: int | None = None) -> Engine:
    """An Engine for `url`; SQLite gets WAL and write-ahead locking so that an API
    process and worker processes can share one file safely.

    On PostgreSQL a session that sits idle inside a transaction for `transaction_timeout`
    seconds is ended by the server: a worker frozen mid-transaction (SIGSTOP, a paused
    VM) would otherwise keep its job's row locked, hidden from every other worker by
    SKIP LOCKED, long after its lease ran out. Keep it below the lease.

    `pool_size` (PostgreSQL) keeps that many connections and never more: a connection of
    its own for something that must not wait behind the others (api/capacity.py's probe).
    """
    if not url.startswith("sqlite"):
        timeout_ms = max(1000, int(transaction_timeout * 1000))
        given = make_url(url).query.get("options", "")  # e.g. a search_path: keep it
        given = " ".join(given) if isinstance(given, tuple) else given
        options = f"{given} -c idle_in_transaction_session_timeout={timeout_ms}".strip()
        connect_args: dict[str, Any] = {"options": options}
        if "connect_timeout" not in make_url(url).query:
            # psycopg waits 130 s for a host that does not answer; an API request should
            # get its 503 (and a worker its retry) within seconds
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        sizes = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **sizes)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; we emit it ourselves below
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: two claimers never both read the
        # same QUEUED row and then race to upgrade their locks (which SQLite answers
        # with "database is locked" instead of waiting)
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Apply every pending migration. Idempotent, and safe when several processes start
    at once: on PostgreSQL they queue on an advisory lock held for the transaction (the
    DDL alone would race on a fresh database), on SQLite on the file's write lock."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
