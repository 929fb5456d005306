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

A key has several windows (README, "Rate limits per minute, hour and day"): a GCRA bucket per minute, hour
and day, and an optional monthly quota (a plain counter per calendar month, UTC). `windows_hit` checks them
all and counts the request in all of them or in none (a request any window refuses is counted nowhere), in
one script: the admission script runs the same Lua (`WINDOWS_LUA_FUNCTION`) in its single round trip. The
decision reports the window with the fewest requests left (the tightest), or the one that refused.
"""

import calendar
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

# Windows in the order the admission script and `windows_hit` take their limits: (name, period in ms).
WINDOWS = (("minute", 60_000), ("hour", 3_600_000), ("day", 86_400_000))
MONTH = "month"
# Not a window: a conditional GET answered 304 from its poll stamp, counted against its own ceiling
# (apikeys.admission.CONDITIONAL_CEILING_FACTOR) and reported in X-RateLimit-Conditional-*.
CONDITIONAL = "conditional"
WINDOW_NAMES = (*(name for name, _ in WINDOWS), MONTH)

# Every window of a key in one step: GCRA per window (limit 0 = no limit in that window), then the monthly
# quota (an empty quota = none). All admit, or nothing is counted. Answers {allowed, window index (1-based,
# 4 = the month), remaining, retryMs, resetMs} of the tightest window, or of the one that refused (the one
# that frees last, if several did).
WINDOWS_LUA_FUNCTION = """
local WINDOW_PERIODS = {60000, 3600000, 86400000}
local function windows_step(keys, limits, quota_key, quota, month_end, now)
  local new_tats, best, refused = {}, nil, nil
  for i = 1, 3 do
    local limit = limits[i]
    if limit > 0 then
      local period = WINDOW_PERIODS[i]
      local interval = period / limit
      local tat = tonumber(redis.call('GET', keys[i])) or now
      if tat < now then tat = now end
      local new_tat = tat + interval
      local allow_at = new_tat - period
      if allow_at - now > 0.001 then
        local retry = math.ceil(allow_at - now)
        if not refused or retry > refused[4] then refused = {0, i, 0, retry, math.ceil(tat - now)} end
      else
        new_tats[i] = new_tat
        local remaining = math.floor((period - (new_tat - now)) / interval + 0.001)
        if not best or remaining < best[3] then best = {1, i, remaining, 0, math.ceil(new_tat - now)} end
      end
    end
  end
  if refused then return refused end
  if quota ~= '' then
    local used = tonumber(redis.call('GET', quota_key)) or 0
    local left = tonumber(quota) - used
    if left <= 0 then return {0, 4, 0, month_end - now, month_end - now} end
    redis.call('SET', quota_key, used + 1, 'PX', month_end - now + 86400000)
    if left - 1 < best[3] then best = {1, 4, left - 1, 0, month_end - now} end
  end
  for i, new_tat in pairs(new_tats) do
    redis.call('SET', keys[i], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
  end
  return best
end
"""

_WINDOWS_LUA = (
    GCRA_LUA_FUNCTION
    + WINDOWS_LUA_FUNCTION
    + """
local now = redis_now_ms()
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])}
local step = windows_step({KEYS[1], KEYS[2], KEYS[3]}, limits, KEYS[4], ARGV[4], tonumber(ARGV[5]), now)
return {step[1], step[2], step[3], step[4], step[5], now}
"""
)

_GCRA_LUA = (
    GCRA_LUA_FUNCTION
    + """
local now = redis_now_ms()
local step = gcra_step(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now)
return {step[1], step[2], step[3], step[4], now}
"""
)

_script = None
_windows_script = None
_local_lock = threading.Lock()


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds: when the full burst is available again
    retry_after: int = 0  # seconds until one more request is admitted (refusals only)
    window: str = "minute"  # which of the key's windows these figures are (WINDOW_NAMES)

    def headers(self) -> dict[str, str]:
        prefix = "X-RateLimit-Conditional-" if self.window == CONDITIONAL else "X-RateLimit-"
        return {
            f"{prefix}Limit": str(self.limit),
            f"{prefix}Remaining": str(self.remaining),
            f"{prefix}Reset": str(self.reset_at),
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


def window_keys(key_prefix: str, now: float | None = None) -> tuple[str, str, str, str]:
    """The Redis keys of a key's minute, hour and day buckets and of this calendar month's quota count
    (the minute bucket is the one keys always had, so upgrading keeps its state)."""
    month = time.strftime("%Y%m", time.gmtime(now if now is not None else time.time()))
    return (
        bucket_key(key_prefix),
        bucket_key(f"{key_prefix}:hour"),
        bucket_key(f"{key_prefix}:day"),
        f"gx:quota:{key_prefix}:{month}",
    )


def month_end_ms(now: float | None = None) -> int:
    """Unix milliseconds at which the current calendar month (UTC) ends: the monthly quota's reset."""
    year, month = time.gmtime(now if now is not None else time.time())[:2]
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


@dataclass(frozen=True)
class KeyWindows:
    """A key's limits: requests per minute, hour (0 = none) and day (0 = none), and its monthly quota."""

    minute: int
    hour: int = 0
    day: int = 0
    month: int | None = None

    def limit_of(self, window: str) -> int:
        return {"minute": self.minute, "hour": self.hour, "day": self.day}.get(window) or self.month or 0


def windows_decision(
    windows: KeyWindows, allowed, index, remaining, retry_ms, reset_ms, now_ms
) -> RateLimitDecision:
    """The decision from one windows step's figures (milliseconds; `index` 1-based, 4 = the month)."""
    window = WINDOW_NAMES[int(index) - 1]
    decision = decision_from(windows.limit_of(window), allowed, remaining, retry_ms, reset_ms, now_ms)
    return RateLimitDecision(
        decision.allowed, decision.limit, decision.remaining, decision.reset_at, decision.retry_after, window
    )


@requires_shared_cache
def windows_hit(*, key_prefix: str, windows: KeyWindows) -> RateLimitDecision:
    """Count one request in every window of a key, or in none if any refuses it (atomic, as rate_limit_hit).

    The admission script does the same inside its round trip; this is for a key on the slow path and for
    the embedded mode. 503 when Redis is unreachable.
    """
    client = redis_client()
    keys = window_keys(key_prefix)
    month_end = month_end_ms()
    if client is None:
        return _local_windows_hit(keys, windows, month_end)
    global _windows_script
    if _windows_script is None:
        _windows_script = client.register_script(_WINDOWS_LUA)
    quota = "" if windows.month is None else str(windows.month)
    result = _windows_script(
        keys=list(keys), args=[windows.minute, windows.hour, windows.day, quota, month_end], client=client
    )
    return windows_decision(windows, *result)


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


def _local_windows_hit(keys, windows: KeyWindows, month_end: int) -> RateLimitDecision:
    limits = (windows.minute, windows.hour, windows.day)
    with _local_lock:  # the same steps as WINDOWS_LUA_FUNCTION, under the process lock
        now = time.time() * 1000
        new_tats, best, refused = {}, None, None
        for index, ((_, period), limit) in enumerate(zip(WINDOWS, limits, strict=True), start=1):
            if not limit:
                continue
            interval = period / limit
            tat = max(cache.get(f"rl:{keys[index - 1]}") or now, now)
            new_tat = tat + interval
            allow_at = new_tat - period
            if allow_at - now > _EPSILON_MS:
                retry = math.ceil(allow_at - now)
                if refused is None or retry > refused[3]:
                    refused = (False, index, 0, retry, math.ceil(tat - now))
                continue
            new_tats[keys[index - 1]] = new_tat
            remaining = math.floor((period - (new_tat - now)) / interval + _EPSILON_MS)
            if best is None or remaining < best[2]:
                best = (True, index, remaining, 0, math.ceil(new_tat - now))
        if refused is not None:
            return windows_decision(windows, *refused, now)
        if windows.month is not None:
            used = cache.get(f"rl:{keys[3]}") or 0
            left = windows.month - used
            if left <= 0:
                return windows_decision(windows, False, 4, 0, month_end - now, month_end - now, now)
            cache.set(f"rl:{keys[3]}", used + 1, timeout=math.ceil((month_end - now) / 1000) + 86400)
            if left - 1 < best[2]:
                best = (True, 4, left - 1, 0, month_end - now)
        for key, new_tat in new_tats.items():
            cache.set(f"rl:{key}", new_tat, timeout=math.ceil((new_tat - now) / 1000) + 1)
    return windows_decision(windows, *best, now)


# Reads buckets without counting: for each KEYS[i] with its limit and period (ARGV pairs), the requests it
# would admit now and when it is full again; the last key is the monthly quota's count.
_PEEK_LUA = (
    GCRA_LUA_FUNCTION
    + """
local now = redis_now_ms()
local out = {now}
for i = 1, #KEYS - 1 do
  local limit, period = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local interval = period / limit
  out[#out + 1] = math.floor((period - (tat - now)) / interval + 0.001)
  out[#out + 1] = math.ceil(tat - now)
end
out[#out + 1] = tonumber(redis.call('GET', KEYS[#KEYS])) or 0
return out
"""
)
_peek_script = None


@dataclass(frozen=True)
class WindowState:
    window: str  # a WINDOW_NAMES entry, or an operation (`cart-tryons:create`) for its own limit
    limit: int
    remaining: int
    reset_at: int  # unix seconds


@requires_shared_cache
def windows_peek(
    *, key_prefix: str, windows: KeyWindows, operations: tuple[tuple[str, int], ...] = ()
) -> list[WindowState]:
    """Every window of a key (and its per-operation limits) as they stand, without counting anything."""
    keys = window_keys(key_prefix)
    buckets = [
        (name, keys[index], limit, period)
        for index, ((name, period), limit) in enumerate(
            zip(WINDOWS, (windows.minute, windows.hour, windows.day), strict=True)
        )
        if limit
    ]
    buckets += [
        (name, bucket_key(f"{key_prefix}:{name}"), limit, PERIOD_SECONDS * 1000) for name, limit in operations
    ]
    client = redis_client()
    if client is None:
        now = time.time() * 1000
        figures = []
        for _, key, limit, period in buckets:
            tat = max(cache.get(f"rl:{key}") or now, now)
            figures += [
                math.floor((period - (tat - now)) / (period / limit) + _EPSILON_MS),
                math.ceil(tat - now),
            ]
        used = cache.get(f"rl:{keys[3]}") or 0
    else:
        global _peek_script
        if _peek_script is None:
            _peek_script = client.register_script(_PEEK_LUA)
        args = [value for _, _, limit, period in buckets for value in (limit, period)]
        now, *figures, used = _peek_script(keys=[*(b[1] for b in buckets), keys[3]], args=args, client=client)
    states = [
        WindowState(
            name, limit, max(0, int(figures[2 * i])), math.ceil((now + int(figures[2 * i + 1])) / 1000)
        )
        for i, (name, _, limit, _) in enumerate(buckets)
    ]
    window_count = len(buckets) - len(operations)
    month = []
    if windows.month is not None:
        left = max(0, windows.month - int(used))
        month = [WindowState(MONTH, windows.month, left, month_end_ms() // 1000)]
    return [*states[:window_count], *month, *states[window_count:]]
