"""/readyz beyond a database that answers (that part: tests/api/test_database_down.py):
a schema behind this code's migrations is a 503 naming both revisions (one ahead, from
a newer release mid-upgrade, is not), and with REELFORGE_READY_NEEDS_WORKERS a model
without a live worker is a 503 naming it, until a worker comes."""

from __future__ import annotations

from collections.abc import Callable

from alembic.script import ScriptDirectory
from sqlalchemy import text

from reelforge import endpoints
from reelforge.jobs.db import MIGRATIONS
from tests.support.fake_engine import FakeEngine
from tests.support.inprocess import AppWithWorker, WorkerThread
from tests.support.worker_process import wait_for

SCRIPTS = ScriptDirectory(str(MIGRATIONS))
HEAD = SCRIPTS.get_current_head()


def _stamp(app: AppWithWorker, revision: str) -> None:
    services = app.client.app.state.services
    with services.db.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_ready_when_the_schema_is_current(app_with_worker: Callable[..., AppWithWorker]) -> None:
    app = app_with_worker(engine=None)
    answer = app.client.get("/readyz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})


def test_a_schema_behind_the_migrations_is_not_ready(
    app_with_worker: Callable[..., AppWithWorker],
) -> None:
    app = app_with_worker(engine=None)
    assert HEAD is not None
    previous = SCRIPTS.get_revision(HEAD).down_revision
    assert isinstance(previous, str)
    _stamp(app, previous)  # as if the head migration had not run
    answer = app.client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    error = answer.json()["error"]
    assert f"at revision {previous}" in error and f"needs {HEAD}" in error, error
    assert app.client.get("/healthz").status_code == 200  # alive all the same


def test_a_schema_from_a_newer_release_is_ready(
    app_with_worker: Callable[..., AppWithWorker],
) -> None:
    app = app_with_worker(engine=None)
    _stamp(app, "9999_from_a_newer_release")
    assert app.client.get("/readyz").status_code == 200


def test_ready_needs_a_live_worker_per_model(
    app_with_worker: Callable[..., AppWithWorker],
) -> None:
    app = app_with_worker(engine=None, ready_needs_workers=True)
    answer = app.client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["error"] == f"no live worker serves {', '.join(endpoints.SLUGS)}"
    worker = WorkerThread(app.settings, FakeEngine, "late").start()
    try:
        wait_for(lambda: app.client.get("/readyz").status_code == 200, 30, "/readyz to be 200")
        assert app.client.get("/readyz").json() == {"status": "ready"}
    finally:
        worker.stop()
