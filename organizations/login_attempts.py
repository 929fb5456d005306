"""Failed sign-ins (JWT token endpoint and admin login), counted per username and per client address.

Only failures count, never successful sign-ins, so a partner's CI fetching tokens or a whole office behind
one proxy is never held back for signing in. What is locked is a username, for LOCK_SECONDS:
- after USERNAME_MAX_FAILURES failures for it in WINDOW_SECONDS, from anywhere (guessing one account);
- after a single failure for it from an address that already has ADDRESS_MAX_FAILURES failures in the
  window (one address trying many usernames: each then gets one guess, not USERNAME_MAX_FAILURES).
A locked username is refused even with its right password (say so to the user); any other username
signs in with its right password whatever its address has done. A successful sign-in clears the
username's count. Counters live in the shared cache, so the limits hold across web processes.
"""

import hashlib
import time

from django.core.cache import cache

from infrastructure.shared_cache import requires_shared_cache

USERNAME_MAX_FAILURES = 10
ADDRESS_MAX_FAILURES = 30
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


def _username_id(username: str) -> str:
    # Hashed: usernames are personal data and may hold characters a cache key should not.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _username_failures_key(username: str) -> str:
    return f"login:failures:user:{_username_id(username)}"


def _address_failures_key(address: str) -> str:
    return f"login:failures:addr:{address}"


def _lock_key(username: str) -> str:
    return f"login:locked:{_username_id(username)}"


def _increment(counter: str) -> int:
    cache.add(counter, 0, WINDOW_SECONDS)  # opens the window only if it is not open yet
    try:
        return cache.incr(counter)
    except ValueError:  # the window closed between add() and incr()
        cache.set(counter, 1, WINDOW_SECONDS)
        return 1


@requires_shared_cache
def login_lock_remaining(*, username: str) -> int:
    """Seconds this username stays locked after repeated failures; 0 when it may sign in."""
    locked_until = cache.get(_lock_key(username))
    if locked_until is None:
        return 0
    return max(1, int(locked_until - time.time() + 0.999))


@requires_shared_cache
def login_failure_record(*, username: str, address: str) -> None:
    """Count a failed sign-in for the username and for the address; lock the username if it is due."""
    username_failures = _increment(_username_failures_key(username))
    address_failures = _increment(_address_failures_key(address))
    if username_failures >= USERNAME_MAX_FAILURES or address_failures > ADDRESS_MAX_FAILURES:
        cache.set(_lock_key(username), time.time() + LOCK_SECONDS, LOCK_SECONDS)
        cache.delete(_username_failures_key(username))


@requires_shared_cache
def login_success_record(*, username: str) -> None:
    """The username's owner knows the password: forget its earlier failures."""
    cache.delete(_username_failures_key(username))


def locked_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        f"Too many failed sign-ins for this username: it is locked for about {minutes} more minute(s). "
        "Sign-ins to other accounts are not affected."
    )
