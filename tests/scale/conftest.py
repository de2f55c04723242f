"""Scale-out fixtures: a private PostgreSQL schema per test, real `reelforge worker`
processes on it (the recording fake engine), and helpers to read the jobs table.

Every test here needs the PostgreSQL on 127.0.0.1:5432 (CI has one); without it the
tests are skipped, saying so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reelforge import endpoints
from reelforge.jobs import Job, JobQueue, connect, migrate
from reelforge.jobs.schema import jobs
from tests.support.postgres import POSTGRES, postgres_reachable, private_schema
from tests.support.server import REPO

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


@pytest.fixture(scope="session")
def postgres() -> str:
    reason = postgres_reachable()
    if reason is not None:
        pytest.skip(f"scale tests need PostgreSQL: {reason}")
    return POSTGRES


@pytest.fixture
def fresh_schema_url(postgres: str) -> Iterator[str]:
    """A new, empty schema (no tables yet) for this test only."""
    with private_schema("scale", postgres) as url:
        yield url


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
    with queue.engine.connect() as conn:
        found = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
    return Job.from_row(found)


def all_rows(queue: JobQueue) -> list[Job]:
    with queue.engine.connect() as conn:
        return [Job.from_row(found) for found in conn.execute(select(jobs))]


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `check()` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pid_of(worker_id: str | None) -> int:
    """The process id inside a worker id `<host>:<pid>:<random>`."""
    assert worker_id, "no worker id"
    return int(worker_id.rsplit(":", 2)[1])


class WorkerProc:
    """One real `python -m reelforge worker` child with its own log file."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path):
        self.name = name
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProc:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reelforge", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 30.0) -> WorkerProc:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited early:\n{self.log()}")
            return " ready" in self.log()

        wait_for(ready, timeout, f"worker {self.name} to be ready")
        return self

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self) -> None:
        """Gone for sure: SIGCONT (in case it is stopped), SIGTERM, then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


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
