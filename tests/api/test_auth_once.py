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
