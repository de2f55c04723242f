"""Workers in this process on SQLite and, where one is reachable, PostgreSQL; a temp dir
of their own; and small, valid jobs."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reelforge import endpoints
from reelforge.engines import Engine
from reelforge.jobs import NewJob
from reelforge.settings import Settings
from reelforge.worker import Worker
from tests.support.fake_engine import FakeEngine


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp dir, private to this test: workers make their working dirs there."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return str(request.getfixturevalue("pg_schema_url"))  # the one PostgreSQL helper


@pytest.fixture
def make_worker(
    tmp_path: Path, database_url: str, temp_dir: Path
) -> Iterator[Callable[..., Worker]]:
    """make_worker(engine=None, **settings) -> a Worker on this test's database, with the
    fast fake engine unless another is given."""
    made: list[Worker] = []

    def make(engine: Engine | None = None, **overrides: Any) -> Worker:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "heartbeat_seconds": 0.2,
            "lease_seconds": 30.0,  # seconds: PostgreSQL cuts a transaction idle for a third of it
            "poll_seconds": 0.05,
            "fault_retry_seconds": 0.2,
            **overrides,
        }
        settings = Settings(**values)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        worker = Worker(settings, engine or FakeEngine(settings))
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.db.dispose()


def small_job(seed: int = 1) -> NewJob:
    """A valid, cheap pixverse-v6 job: 1 s, 360p, silent."""
    endpoint = endpoints.get("pixverse-v6")
    assert endpoint is not None
    params = endpoint.validate(
        {"prompt": "a lighthouse", "duration": 1, "quality": "360p",
         "generate_audio_switch": False, "seed": seed}
    )  # fmt: skip
    return NewJob(slug="pixverse-v6", owner="admin", params=params)
