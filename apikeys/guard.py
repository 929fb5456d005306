"""Brute-force guard: wrong secrets for one key prefix cost a bcrypt each, so they are capped.

After MAX_FAILURES wrong secrets in WINDOW_SECONDS for a prefix, further attempts are refused without
running bcrypt until the window passes. The counter lives in the shared cache, so the cap holds across
web processes.
"""

from django.core.cache import cache

MAX_FAILURES = 10
WINDOW_SECONDS = 300


def _counter_key(key_prefix: str) -> str:
    return f"apikey:fail:{key_prefix}"


def bcrypt_attempt_allowed(key_prefix: str) -> bool:
    return (cache.get(_counter_key(key_prefix)) or 0) < MAX_FAILURES


def record_failed_secret(key_prefix: str) -> None:
    counter = _counter_key(key_prefix)
    # add() creates the window only if absent; incr() is atomic on Redis and on the local cache.
    cache.add(counter, 0, WINDOW_SECONDS)
    try:
        cache.incr(counter)
    except ValueError:
        cache.set(counter, 1, WINDOW_SECONDS)
