"""One schema module for every table: what the migrations build is exactly what
`reelforge/jobs/schema.py` declares, on both databases (so no table, column or index
lives outside the metadata the queries and the migrations share)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from reelforge.jobs.schema import metadata


def test_the_migrations_build_exactly_the_schema_module(make_queue) -> None:
    queue = make_queue()  # a fresh database, migrated to head
    with queue.db.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_every_table_is_in_the_schema_module(make_queue) -> None:
    queue = make_queue()
    with queue.db.connect() as conn:
        built = set(conn.dialect.get_table_names(conn)) - {"alembic_version"}
    assert built == set(metadata.tables)
    assert {"jobs", "workers", "accounts", "api_keys", "uploads"} <= built
