"""Alembic environment: always run from `reelforge.jobs.db.migrate`, which passes the
connection in `config.attributes["connection"]`."""

from alembic import context

from reelforge.jobs.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
