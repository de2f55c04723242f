"""A key's cache entry expiring under many concurrent requests: the database is asked
once (api/deps.py), and if that one asker fails the others ask for themselves."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from reelforge.accounts import keys

BODY = {"prompt": "a lighthouse", "duration": 1, "quality": "360p",
        "generate_audio_switch": False, "seed": 3}  # fmt: skip
CONCURRENT = 20


async def poll_all(app: Any, key: str, request_id: str) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = await asyncio.gather(
            *(
                client.get(f"/v2/requests/{request_id}/status", headers={"x-api-key": key})
                for _ in range(CONCURRENT)
            )
        )
    return [answer.status_code for answer in answers]


def expire(app: Any, key: str) -> None:
    """As if the key's cache entry had run out: the next requests must ask the database."""
    cache = app.client.app.state.services.key_cache
    caller = cache.lookup(key)
    assert isinstance(caller, keys.Caller)
    cache.forget(caller.key_id)
    assert cache.lookup(key) is None


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """keys.authenticate, slowed to 0.2 s (a busy database) and counted."""
    real = keys.authenticate
    seen: dict[str, Any] = {"calls": 0, "fail_first": False}
    lock = threading.Lock()

    def slow(*args: Any, **kwargs: Any) -> Any:
        with lock:
            seen["calls"] += 1
            first = seen["calls"] == 1
        time.sleep(0.2)
        if first and seen["fail_first"]:
            raise RuntimeError("the first lookup fails")
        return real(*args, **kwargs)

    monkeypatch.setattr(keys, "authenticate", slow)
    return seen


def test_concurrent_requests_with_an_expired_key_ask_the_database_once(app_with_worker, counted):
    app = app_with_worker(engine=None, key_cache_seconds=60)
    key = app.issue_key(10.0)
    request_id = app.submit(key, "pixverse-v6", BODY)
    expire(app, key)
    counted["calls"] = 0
    statuses = asyncio.run(poll_all(app.client.app, key, request_id))
    assert statuses == [200] * CONCURRENT
    assert counted["calls"] == 1


def test_when_the_one_lookup_fails_the_others_ask_for_themselves(app_with_worker, counted):
    app = app_with_worker(engine=None, key_cache_seconds=60)
    key = app.issue_key(10.0)
    request_id = app.submit(key, "pixverse-v6", BODY)
    expire(app, key)
    counted.update(calls=0, fail_first=True)
    statuses = asyncio.run(poll_all(app.client.app, key, request_id))
    assert statuses.count(500) == 1  # the failed asker's own answer (an internal error)
    assert statuses.count(200) == CONCURRENT - 1
    assert 2 <= counted["calls"] <= CONCURRENT


def test_a_busy_keys_entry_is_renewed_before_it_lapses(app_with_worker, monkeypatch):
    """A key polled without pause is looked up again in the background once its entry is
    past 60 % of its time: none of its requests ever waits for the database, and a revoke
    made elsewhere (the CLI, another API process) still ends it within the cache's time."""
    from reelforge.api import deps

    app = app_with_worker(engine=None, key_cache_seconds=1)
    key = app.issue_key(10.0)
    request_id = app.submit(key, "pixverse-v6", BODY)
    waited: list[str] = []
    looked_up: list[str] = []
    real_once, real_look_up = deps._authenticate_once, keys._look_up

    async def once(services: Any, presented: str) -> Any:
        waited.append(presented)
        return await real_once(services, presented)

    def look_up(*args: Any) -> Any:
        looked_up.append("lookup")
        return real_look_up(*args)

    monkeypatch.setattr(deps, "_authenticate_once", once)
    monkeypatch.setattr(keys, "_look_up", look_up)

    async def poll(seconds: float) -> list[int]:
        transport = httpx.ASGITransport(app=app.client.app)
        codes = []
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                answer = await client.get(
                    f"/v2/requests/{request_id}/status", headers={"x-api-key": key}
                )
                codes.append(answer.status_code)
                await asyncio.sleep(0.02)
        return codes

    codes = asyncio.run(poll(2.5))
    assert set(codes) == {200}
    assert waited == []  # the entry was renewed every time before it lapsed
    assert len(looked_up) >= 2  # renewed in the background, about every 0.6 s
    caller = app.client.app.state.services.key_cache.lookup(key)
    assert isinstance(caller, keys.Caller)
    from sqlalchemy import update

    from reelforge.jobs.schema import api_keys

    with app.client.app.state.services.db.begin() as conn:  # as another process revokes it
        conn.execute(
            update(api_keys).where(api_keys.c.id == caller.key_id).values(revoked_at=time.time())
        )
    started = time.monotonic()
    codes = asyncio.run(poll(1.5))
    assert codes[-1] == 401 and codes.index(401) > 0
    assert time.monotonic() - started < 1.5 + 0.5
