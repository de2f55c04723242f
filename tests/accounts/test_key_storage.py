"""Keys are stored only as hashes: a dump of the whole database (SQLite `iterdump`,
every row of every PostgreSQL table) holds no key, only the visible prefixes."""

from __future__ import annotations

import sqlite3

import httpx
from sqlalchemy import MetaData

from tests.accounts.conftest import V6, issue_key, small_job


def _dump(backend) -> str:
    if backend.name == "sqlite":
        path = backend.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            return "\n".join(conn.iterdump())
    db = backend.db()
    try:
        tables = MetaData()
        tables.reflect(db)
        with db.begin() as conn:
            rows = [
                f"{table.name}: {tuple(row)!r}"
                for table in tables.sorted_tables
                for row in conn.execute(table.select())
            ]
    finally:
        db.dispose()
    return "\n".join(rows)


def test_database_dump_contains_no_key(backend, start_server):
    server = start_server()
    keys = [issue_key(server, credits=1) for _ in range(3)]
    for key in [*keys, server.key]:  # each one used: every path that sees a key has run
        headers = {"x-api-key": key, "Idempotency-Key": "dump-test"}
        assert httpx.post(f"{server.base_url}/v2/{V6}", json=small_job(), headers=headers)
    dump = _dump(backend)
    assert "api_keys" in dump and "idempotency_keys" in dump
    for key in [*keys, server.key]:
        assert key not in dump
        assert key.split("_", 2)[-1] not in dump  # nor the secret part alone
    for key in keys:
        assert key.split("_")[1] in dump  # the visible id (rfk_<id>) is kept
