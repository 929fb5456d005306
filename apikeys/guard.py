"""Brute-force guard for the slow path of key verification, where every wrong secret costs a bcrypt.

Two counters in the shared cache, so the caps hold across web processes:
- per key prefix: at most PREFIX_MAX_ATTEMPTS bcrypt checks that did not succeed in WINDOW_SECONDS. The
  attempt is reserved (incremented) *before* bcrypt runs, so a burst of concurrent wrong secrets cannot
  slip past the cap; a successful check gives its reservation back.
- per client address: at most ADDRESS_MAX_FAILURES failed verifications (unknown prefix or wrong secret)
  in WINDOW_SECONDS; after that the address gets 401 without a database query or a bcrypt.

Keys already verified and cached never reach this code, so a throttled prefix or address does not lock
out a partner whose key is in use; at worst a key whose prefix is being attacked cannot be freshly
verified for WINDOW_SECONDS.
"""

import contextlib

from django.core.cache import cache

PREFIX_MAX_ATTEMPTS = 10
ADDRESS_MAX_FAILURES = 30
WINDOW_SECONDS = 300


def _prefix_counter(key_prefix: str) -> str:
    return f"apikey:fail:prefix:{key_prefix}"


def _address_counter(address: str) -> str:
    return f"apikey:fail:addr:{address}"


def _increment(counter: str) -> int:
    # add() opens the window only if it is absent; incr() is atomic on Redis and on the local cache.
    cache.add(counter, 0, WINDOW_SECONDS)
    try:
        return cache.incr(counter)
    except ValueError:  # the window expired between add() and incr()
        cache.set(counter, 1, WINDOW_SECONDS)
        return 1


def throttled(*, key_prefix: str, address: str | None) -> bool:
    """True if this prefix or address has used up its attempts: refuse without a query or a bcrypt."""
    counters = [_prefix_counter(key_prefix)] + ([_address_counter(address)] if address else [])
    found = cache.get_many(counters)
    if (found.get(counters[0]) or 0) >= PREFIX_MAX_ATTEMPTS:
        return True
    return bool(address) and (found.get(counters[1]) or 0) >= ADDRESS_MAX_FAILURES


def bcrypt_attempt_reserve(*, key_prefix: str) -> bool:
    """Reserve one bcrypt check for this prefix; False means the cap is reached and bcrypt must not run."""
    return _increment(_prefix_counter(key_prefix)) <= PREFIX_MAX_ATTEMPTS


def bcrypt_attempt_release(*, key_prefix: str) -> None:
    """Give back the reservation of a check that succeeded: only failures count against the prefix."""
    with contextlib.suppress(ValueError):  # the window expired meanwhile: nothing to give back
        cache.decr(_prefix_counter(key_prefix))


def failure_record(*, address: str | None) -> None:
    if address:
        _increment(_address_counter(address))
