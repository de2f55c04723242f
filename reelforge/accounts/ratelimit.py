"""Requests per minute per API key, with the `limits` library.

`memory://` counts in this process (one API process: `reelforge serve`);
`redis://host:6379` counts in Redis, so several API processes share one limit per key.
A moving window: a key may make N requests in any 60 seconds.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from reelforge.accounts.keys import Caller
from reelforge.errors import RateLimited

log = logging.getLogger("reelforge.ratelimit")


class RateLimiter:
    def __init__(self, storage_url: str, default_per_minute: int):
        self.storage = storage_from_string(storage_url)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.default = default_per_minute

    def check(self, caller: Caller) -> None:
        """Count one request of `caller`; RateLimited (429) when over its limit."""
        per_minute = self.default if caller.rate_limit is None else caller.rate_limit
        if not per_minute:
            return
        item = RateLimitItemPerMinute(per_minute)
        try:
            if self.limiter.hit(item, "key", caller.key_id):
                return
            reset_at = self.limiter.get_window_stats(item, "key", caller.key_id).reset_time
        except Exception:  # a Redis outage must not take the whole API down with it
            log.warning("rate limit storage unreachable; request let through", exc_info=True)
            return
        wait = max(1, math.ceil(reset_at - time.time()))
        when = datetime.fromtimestamp(reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise RateLimited(
            f"Rate limit exceeded: this API key may make {per_minute} requests per minute; "
            f"retry after {wait} s",
            headers={"Retry-After": str(wait), "x-rate-limit-reset-at-utc": when},
        )
