"""Requests per minute per key: a burst past the limit is a 429 with Retry-After and
x-rate-limit-reset-at-utc; with Redis, API processes share one count per key."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.accounts.conftest import issue_key

LIMIT = 5


def _ask(server, key: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/v1/get-user-credits", headers={"x-api-key": key})


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert "Rate limit exceeded" in response.json()["error"]
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 60
    reset = datetime.strptime(response.headers["x-rate-limit-reset-at-utc"], "%Y-%m-%dT%H:%M:%SZ")
    ahead = reset.replace(tzinfo=UTC).timestamp() - time.time()
    assert -2 <= ahead <= 61


def test_burst_over_the_limit_is_429_with_both_headers(backend, start_server):
    server = start_server()
    key = issue_key(server, rate_limit=LIMIT)
    codes = [_ask(server, key).status_code for _ in range(LIMIT)]
    assert codes == [200] * LIMIT
    _assert_limited(_ask(server, key))
    # the limit is per key: another key, and the admin key, are unaffected
    assert _ask(server, issue_key(server, rate_limit=LIMIT)).status_code == 200
    assert _ask(server, server.headers()["x-api-key"]).status_code == 200


def test_server_default_limit_applies_to_keys_without_their_own(backend, start_server):
    server = start_server(REELFORGE_RATE_LIMIT_PER_MINUTE="3")
    key = issue_key(server)
    assert [_ask(server, key).status_code for _ in range(4)] == [200, 200, 200, 429]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # memory:// is per process
def test_api_processes_share_the_limit_through_redis(backend, start_server):
    first = start_server("one")
    second = start_server("two")
    key = issue_key(first, rate_limit=LIMIT)
    codes = [_ask(server, key).status_code for server in (first, second) * 3]
    assert codes == [200] * LIMIT + [429]
