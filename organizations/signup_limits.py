"""Signup requests counted per client address and per email domain, per clock hour (README, "Signup").

Every request counts, not only failures: each one the service takes sends an email, so the limits are what
keep PARTNER_SIGNUP=open from being a free mail cannon (one address trying many emails, many addresses
trying one company's domain). Counters live in the shared cache, so they hold across web processes; a
window is the clock hour, and a refused request is told how many seconds are left of it (Retry-After).
Keys hold a hash of the address or domain, never the text a client sent.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from api.errors import RateLimitExceeded
from infrastructure.shared_cache import requires_shared_cache

WINDOW_SECONDS = 3600


def _bounded_id(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


def _count(counter: str) -> int:
    cache.add(counter, 0, WINDOW_SECONDS + 60)  # opens the window only if it is not open yet
    try:
        return cache.incr(counter)
    except ValueError:  # the counter expired between add() and incr()
        cache.set(counter, 1, WINDOW_SECONDS + 60)
        return 1


def _refuse(what: str, limit: int, window_end: int) -> RateLimitExceeded:
    retry_after = max(1, window_end - int(time.time()))
    return RateLimitExceeded(
        f"Too many signup requests from this {what}: at most {limit} an hour. Try again later.",
        details={"limitedBy": what, "limit": limit, "retryAfter": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


@requires_shared_cache
def signup_attempt_count(*, address: str, domain: str | None) -> None:
    """Count one signup request from `address` (and for the email `domain`, when there is one); raise
    RateLimitExceeded, with the seconds left of the hour, once either is over its hourly limit."""
    window = int(time.time()) // WINDOW_SECONDS
    window_end = (window + 1) * WINDOW_SECONDS
    limit = settings.SIGNUP_LIMIT_PER_ADDRESS_PER_HOUR
    if _count(f"signup:addr:{_bounded_id(address)}:{window}") > limit:
        raise _refuse("address", limit, window_end)
    if domain is not None:
        limit = settings.SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR
        if _count(f"signup:domain:{_bounded_id(domain)}:{window}") > limit:
            raise _refuse("domain", limit, window_end)
