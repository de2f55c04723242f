"""Scale-out fixtures: a private PostgreSQL schema per test, real `reelforge worker`
processes on it (the recording fake engine), and helpers to read the jobs table.

Every test here needs the PostgreSQL on 127.0.0.1:5432 (CI has one): the schema comes
from `pg_schema_url` (tests/conftest.py), which skips the test without one, saying so,
and fails it on CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reelforge import endpoints
from reelforge.jobs import Job, JobQueue, connect, migrate
from reelforge.jobs.schema import jobs
from tests.support.server import REPO
from tests.support.worker_process import WorkerProc
from tests.support.worker_process import wait_for as wait_for  # the tests here use it

RECORDING_ENGINE = "tests.scale.recording:RecordingEngine"
V6 = "pixverse-v6"
LEASE_SECONDS = 2.0
HEARTBEAT_SECONDS = 0.3


def small_params(seed: int) -> dict[str, Any]:
    """A valid, cheap pixverse-v6 job (1 s, 360p, silent) with its own seed."""
    endpoint = endpoints.get(V6)
    assert endpoint is not None
    return endpoint.validate(
        {
            "prompt": "a lighthouse at night",
            "duration": 1,
            "quality": "360p",
            "generate_audio_switch": False,
            "seed": seed,
        }
    )


@pytest.fixture
def fresh_schema_url(pg_schema_url: str) -> str:
    """A new, empty schema (no tables yet) for this test only."""
    return pg_schema_url


@pytest.fixture
def pg_url(fresh_schema_url: str) -> str:
    """This test's schema, migrated once before any process starts (see the migration
    race test for why processes are not left to race for it)."""
    engine = connect(fresh_schema_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return fresh_schema_url


@pytest.fixture
def queue(pg_url: str) -> Iterator[JobQueue]:
    engine = connect(pg_url)
    yield JobQueue(engine, retention=3600, lease=LEASE_SECONDS, max_attempts=3)
    engine.dispose()


def row(queue: JobQueue, job_id: str) -> Job:
    """The job's row as it is, without the API's expiry filter."""
    with queue.db.connect() as conn:
        found = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
    return Job.from_row(found)


def all_rows(queue: JobQueue) -> list[Job]:
    with queue.db.connect() as conn:
        return [Job.from_row(found) for found in conn.execute(select(jobs))]


def pid_of(worker_id: str | None) -> int:
    """The process id inside a worker id `<host>:<pid>:<random>`."""
    assert worker_id, "no worker id"
    return int(worker_id.rsplit(":", 2)[1])


@pytest.fixture
def worker_env(pg_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment shared by this test's workers: one database schema, one storage
    directory, short leases, fast polling, the recording engine."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "REELFORGE_DATABASE_URL": pg_url,
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_STORAGE_DIR": str(tmp_path / "files"),
        "REELFORGE_ENGINE": RECORDING_ENGINE,
        "REELFORGE_TEST_CLAIM_LOG": str(tmp_path / "runs.log"),
        "REELFORGE_LEASE_SECONDS": str(LEASE_SECONDS),
        "REELFORGE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "REELFORGE_POLL_SECONDS": "0.1",
        "REELFORGE_FAKE_STEP_SECONDS": "0",
    }


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., WorkerProc]]:
    """start_worker(name, **env overrides) -> a running WorkerProc (not yet ready);
    every one is stopped (even if SIGSTOPped) before the schema is dropped."""
    started: list[WorkerProc] = []

    def start(name: str, **overrides: str) -> WorkerProc:
        worker = WorkerProc(name, {**worker_env, **overrides}, tmp_path / f"worker-{name}.log")
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
