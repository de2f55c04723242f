"""The key cache: a key seen a moment ago costs no query, a revoke through this process's
API is refused at once, one made by another process (the CLI) within
REELFORGE_KEY_CACHE_SECONDS, and a cached key is still rate limited."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, event, update

from reelforge.accounts import keys
from reelforge.accounts.keys import KeyCache
from reelforge.jobs import connect, migrate
from reelforge.jobs.schema import api_keys
from tests.accounts.conftest import issue_key
from tests.support.server import REPO

TTL = 1.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = connect(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


class Queries:
    """Counts the statements `db` runs."""

    def __init__(self, db: Engine):
        self.count = 0
        event.listen(db, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def test_a_key_seen_a_moment_ago_costs_no_query(db: Engine) -> None:
    key, info = keys.issue(db, name="team-a")
    cache, queries = KeyCache(TTL), Queries(db)
    first = keys.authenticate(db, key, "admin-key", cache)
    assert first is not None and first.key_id == info.id
    asked = queries.count
    assert asked >= 1
    for _ in range(5):
        assert keys.recall(key, "admin-key", cache) == first  # no I/O at all
        assert keys.authenticate(db, key, "admin-key", cache) == first
    assert queries.count == asked


def test_unknown_keys_are_refused_and_a_repeat_costs_no_query(db: Engine) -> None:
    key, _info = keys.issue(db, name="team-a")
    cache, queries = KeyCache(TTL), Queries(db)
    wrong = key[:-4] + "xxxx"  # a real id with a wrong secret
    for presented in (wrong, "rfk_000000000000_nope"):
        assert keys.authenticate(db, presented, "admin-key", cache) is None
        asked = queries.count
        assert keys.authenticate(db, presented, "admin-key", cache) is None
        assert keys.recall(presented, "admin-key", cache) is keys.REFUSED
        assert queries.count == asked
    # and the right key is still let in
    assert keys.authenticate(db, key, "admin-key", cache) is not None


def test_a_revoke_in_this_process_is_refused_at_once(db: Engine) -> None:
    key, info = keys.issue(db, name="team-a")
    cache = KeyCache(60.0)  # long: the revoke, not the expiry, must do it
    assert keys.authenticate(db, key, "admin-key", cache) is not None
    keys.revoke(db, info.prefix)
    assert keys.recall(key, "admin-key", cache) is None
    assert keys.authenticate(db, key, "admin-key", cache) is None


def test_a_revoke_by_another_process_is_refused_within_the_ttl(db: Engine) -> None:
    key, info = keys.issue(db, name="team-a")
    cache = KeyCache(TTL)
    assert keys.authenticate(db, key, "admin-key", cache) is not None
    # another process's revoke: the row changes, nothing tells this process's cache
    with db.begin() as conn:
        conn.execute(update(api_keys).where(api_keys.c.id == info.id).values(revoked_at=1.0))
    revoked_at = time.monotonic()
    while keys.authenticate(db, key, "admin-key", cache) is not None:
        assert time.monotonic() - revoked_at <= TTL + 0.5, "still let in after the TTL"
        time.sleep(0.05)


def test_zero_seconds_remembers_nothing(db: Engine) -> None:
    key, _info = keys.issue(db, name="team-a")
    cache, queries = KeyCache(0), Queries(db)
    assert keys.authenticate(db, key, "admin-key", cache) is not None
    asked = queries.count
    assert keys.recall(key, "admin-key", cache) is None
    assert keys.authenticate(db, key, "admin-key", cache) is not None
    assert queries.count == 2 * asked


def _credits(server, key: str) -> int:
    headers = {"x-api-key": key}
    return httpx.get(f"{server.base_url}/v1/get-user-credits", headers=headers).status_code


def test_server_revoke_through_the_admin_api_is_at_once(backend, start_server):
    server = start_server(REELFORGE_KEY_CACHE_SECONDS="60")
    key = issue_key(server, credits=1)
    assert _credits(server, key) == 200  # cached now, for a minute
    prefix = "_".join(key.split("_")[:2])
    revoked = httpx.delete(f"{server.base_url}/v1/admin/keys/{prefix}", headers=server.headers())
    assert revoked.status_code == 200
    assert _credits(server, key) == 401


def test_server_revoke_by_the_cli_is_refused_within_the_ttl(backend, start_server):
    server = start_server(REELFORGE_KEY_CACHE_SECONDS=str(TTL))
    key = issue_key(server, credits=1)
    assert _credits(server, key) == 200
    prefix = "_".join(key.split("_")[:2])
    cli = [sys.executable, "-m", "reelforge", "keys", "revoke", prefix]
    cli += ["--data-dir", str(server.data_dir)]
    revoked = subprocess.run(cli, capture_output=True, text=True, env=server.env, cwd=REPO)
    assert revoked.returncode == 0, revoked.stderr
    done = time.monotonic()
    while (status := _credits(server, key)) == 200 and time.monotonic() - done < TTL + 1.0:
        time.sleep(0.1)
    assert status == 401


def test_server_cached_key_is_still_rate_limited(backend, start_server):
    server = start_server(REELFORGE_KEY_CACHE_SECONDS="60")
    key = issue_key(server, credits=1, rate_limit=3)
    assert [_credits(server, key) for _ in range(3)] == [200] * 3
    assert _credits(server, key) == 429
