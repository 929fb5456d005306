"""Per-key rate limits: a fixed one-minute window counted in the shared cache.

`cache.add` + `cache.incr` are atomic on Redis and on the local cache, so N+k concurrent requests let
exactly N through whatever the number of web processes.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def rate_limit_hit(*, key_id: str, limit: int) -> RateLimitDecision:
    now = int(time.time())
    window_start = now - now % WINDOW_SECONDS
    counter = f"rl:{key_id}:{window_start}"
    cache.add(counter, 0, WINDOW_SECONDS + 5)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.set(counter, 1, WINDOW_SECONDS + 5)
        count = 1
    reset_at = window_start + WINDOW_SECONDS
    return RateLimitDecision(
        allowed=count <= limit, limit=limit, remaining=max(0, limit - count), reset_at=reset_at
    )
