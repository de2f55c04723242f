"""A stream's first event is the current state at once (issue 21: with 64 pollers beside
100 watchers it took 5.7 s at the median, queued in the thread pool). On SQLite it is read
on the event loop, so a thread pool that is full does not hold it up."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from reelforge.api import stream_routes

SMALL = {"prompt": "a lighthouse", "duration": 1, "quality": "360p"}
POOL_WAIT = 3.0  # seconds a thread-pool hop takes in this test: a pool with a queue


def test_the_first_event_does_not_wait_for_the_thread_pool(
    app_with_worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_with_worker(engine=None)  # no worker: the request stays QUEUED
    key = app.issue_key(10)
    request_id = app.submit(key, "pixverse-v6", SMALL)
    assert app.status(key, request_id).json()["status"] == "QUEUED"  # timings read once
    hops: list[str] = []
    real = stream_routes.run_in_threadpool

    async def queued_pool(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func.__name__)
        await anyio.sleep(POOL_WAIT)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(stream_routes, "run_in_threadpool", queued_pool)
    started = time.monotonic()
    url = f"/v2/requests/{request_id}/stream"
    with app.client.stream("GET", url, headers=app.headers(key)) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                break
    assert time.monotonic() - started < POOL_WAIT / 2, hops
    assert '"status":"QUEUED"' in line and hops == []
