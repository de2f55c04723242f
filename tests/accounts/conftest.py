"""Accounts fixtures: real `reelforge serve` processes on SQLite (in-memory rate limits)
and on PostgreSQL + Redis (shared rate limits), keys issued through the admin API, and
read access to the server's database for checking the books.

The PostgreSQL + Redis half needs both on 127.0.0.1 (5432, database `test`; 6379): the
schema comes from `pg_schema_url` (tests/conftest.py); when either is unreachable those
tests are skipped, saying which (a missing PostgreSQL fails them on CI).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from reelforge.jobs import connect
from tests.support.environment import unavailable
from tests.support.inprocess import ONE_PER_SECOND
from tests.support.server import FAKE_ENGINE, ServerProcess

REDIS = "redis://127.0.0.1:6379"
V6 = "pixverse-v6"


def small_job(seed: int = 1, **extra: Any) -> dict[str, Any]:
    """A cheap pixverse-v6 body: 1 s, 360p, silent (1 credit at ONE_PER_SECOND)."""
    body = {
        "prompt": "a lighthouse at night",
        "duration": 1,
        "quality": "360p",
        "generate_audio_switch": False,
        "seed": seed,
    }
    return {**body, **extra}


def redis_unreachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"no Redis at 127.0.0.1:6379 ({exc})"
    return None


@dataclass
class Backend:
    """Where the servers of one test keep their state."""

    name: str  # "sqlite" or "postgresql"
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    database_url: str = ""

    def db(self) -> Engine:
        return connect(self.database_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """SQLite + memory:// rate limits, or PostgreSQL + redis:// rate limits."""
    if request.param == "sqlite":
        return Backend("sqlite", tmp_path, {}, f"sqlite:///{tmp_path / 'data' / 'reelforge.db'}")
    request.getfixturevalue("postgres_url")  # skips (fails on CI) without PostgreSQL
    reason = redis_unreachable()
    if reason:
        unavailable(f"PostgreSQL + Redis half: {reason}")
    url = str(request.getfixturevalue("pg_schema_url"))
    env = {"REELFORGE_DATABASE_URL": url, "REELFORGE_RATE_LIMIT_STORAGE_URL": REDIS}
    return Backend("postgresql", tmp_path, env, url)


@pytest.fixture
def start_server(
    serve: Callable[..., ServerProcess], backend: Backend
) -> Iterator[Callable[..., ServerProcess]]:
    """Start `reelforge serve` on the backend (fake engine, 1 credit per second); every
    server started is stopped at the end. Servers of one test share the database."""
    started: list[ServerProcess] = []

    def start(data: str = "data", **env: str) -> ServerProcess:
        server = serve(
            backend.root / data,
            REELFORGE_ENGINE=FAKE_ENGINE,
            REELFORGE_PRICES=ONE_PER_SECOND,
            **{**backend.env, **env},
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def issue_key(server: ServerProcess, **body: Any) -> str:
    """A new key through the admin API; returns the key itself."""
    body.setdefault("name", f"team-{uuid.uuid4().hex[:6]}")
    response = httpx.post(f"{server.base_url}/v1/admin/keys", json=body, headers=server.headers())
    assert response.status_code == 200, response.text
    return response.json()["key"]


def account_of(server: ServerProcess, key: str) -> dict[str, Any]:
    """The key's account as the admin API lists it (balance, held, available)."""
    prefix = "_".join(key.split("_")[:2])
    keys = httpx.get(f"{server.base_url}/v1/admin/keys", headers=server.headers()).json()
    [info] = [item for item in keys["keys"] if item["prefix"] == prefix]
    listed = httpx.get(f"{server.base_url}/v1/admin/accounts", headers=server.headers()).json()
    [account] = [item for item in listed["accounts"] if item["account"] == info["account"]]
    return account


@pytest.fixture(params=["sqlite", "postgresql"])
def queue_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database (no server) with the admin account, on SQLite or PostgreSQL."""
    from reelforge.accounts import credits
    from reelforge.jobs import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = str(request.getfixturevalue("pg_schema_url"))
    engine = connect(url)
    try:
        migrate(engine)
        credits.ensure_admin(engine, None)
        yield engine
    finally:
        engine.dispose()
