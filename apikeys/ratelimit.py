"""Per-key rate limits: GCRA (the generic cell rate algorithm), a token bucket kept as one timestamp.

A limit of N requests per minute admits one request every T = 60/N seconds on average and a burst of up
to N. The only state is the "theoretical arrival time" (TAT) of the next request; a request is admitted
when TAT - 60 s <= now, and then moves TAT forward by T. Compared with a fixed window there is no double
burst at window edges, and compared with DRF's throttles nothing grows with the rate.

- With Redis (production) the check-and-update is one Lua script, so it is atomic across every web
  process, and the clock is Redis's own (`TIME`), so web nodes with skewed clocks agree.
- In embedded mode (local-memory cache, one web process) the same arithmetic runs under a process lock
  and keeps its state in the local cache, so `cache.clear()` resets it as it does the rest.

Headers: `X-RateLimit-Limit` = N; `X-RateLimit-Remaining` = requests that would be admitted right now;
`X-RateLimit-Reset` = unix time (seconds, rounded up) at which the full burst of N is available again.
A refused request gets `Retry-After` = seconds until one more request is admitted.
If Redis is unreachable, `rate_limit_hit` raises 503 ServiceUnavailable (see infrastructure/shared_cache.py).
"""

import math
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache

from infrastructure.shared_cache import redis_client, requires_shared_cache

PERIOD_SECONDS = 60
# Float rounding on millisecond timestamps must never refuse the N-th request of a burst.
_EPSILON_MS = 0.001

# One GCRA step on the bucket at `key`; shared by the script below and the partner admission script
# (apikeys/admission.py), which runs it in the same round trip as the key's revocation check.
GCRA_LUA_FUNCTION = """
local function gcra_step(key, limit, period, now)
  local interval = period / limit
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - period
  if allow_at - now > 0.001 then
    return {0, 0, math.ceil(allow_at - now), math.ceil(tat - now)}
  end
  redis.call('SET', key, string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
  return {1, math.floor((period - (new_tat - now)) / interval + 0.001), 0, math.ceil(new_tat - now)}
end
local function redis_now_ms()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
"""

_GCRA_LUA = (
    GCRA_LUA_FUNCTION
    + """
local now = redis_now_ms()
local step = gcra_step(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)
return {step[1], step[2], step[3], step[4], now}
"""
)

_script = None
_local_lock = threading.Lock()


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds: when the full burst is available again
    retry_after: int = 0  # seconds until one more request is admitted (refusals only)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def rate_limit_headers_set(request, response) -> None:
    """Copy the decision made for `request` (if any) into the X-RateLimit-* headers of `response`."""
    decision = getattr(request, "rate_limit", None)
    if decision is not None:
        for header, value in decision.headers().items():
            response[header] = value


def decision_from(limit, allowed, remaining, retry_ms, reset_ms, now_ms) -> RateLimitDecision:
    """Build the decision from one GCRA step's figures (milliseconds)."""
    return RateLimitDecision(
        allowed=bool(allowed),
        limit=limit,
        remaining=max(0, int(remaining)),
        reset_at=math.ceil((now_ms + reset_ms) / 1000),
        retry_after=max(1, math.ceil(retry_ms / 1000)) if not allowed else 0,
    )


def bucket_key(subject: str) -> str:
    """The Redis key holding the GCRA state of whatever `subject` names (a key prefix, an address)."""
    return f"gx:rl:{subject}"


@requires_shared_cache
def rate_limit_hit(*, key_id: str, limit: int) -> RateLimitDecision:
    """Count one request against `limit` per minute for `key_id` and say whether it is admitted.

    Atomic under any concurrency: with Redis, N+k simultaneous requests from any number of processes
    admit exactly N (for a fresh bucket); in embedded mode the same holds within the one web process.
    Raises ServiceUnavailable when Redis is unreachable.
    """
    client = redis_client()
    if client is None:
        return _local_hit(key_id, limit)
    global _script
    if _script is None:
        _script = client.register_script(_GCRA_LUA)
    result = _script(keys=[bucket_key(key_id)], args=[limit, PERIOD_SECONDS * 1000], client=client)
    return decision_from(limit, *result)


def _local_hit(key_id: str, limit: int) -> RateLimitDecision:
    period = PERIOD_SECONDS * 1000
    interval = period / limit
    state_key = f"rl:{key_id}"
    with _local_lock:  # get-then-set on the local cache is only atomic under this lock
        now = time.time() * 1000
        tat = max(cache.get(state_key) or now, now)
        new_tat = tat + interval
        allow_at = new_tat - period
        if allow_at - now > _EPSILON_MS:
            return decision_from(limit, False, 0, allow_at - now, tat - now, now)
        cache.set(state_key, new_tat, timeout=math.ceil((new_tat - now) / 1000) + 1)
    remaining = math.floor((period - (new_tat - now)) / interval + _EPSILON_MS)
    return decision_from(limit, True, remaining, 0, new_tat - now, now)
