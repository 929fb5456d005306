"""Failed sign-ins (the JWT token endpoint, the staff admin and the partner portal), counted per username
and per client address, and the turns that bound how many password checks run at once.

Only failures count, never successful sign-ins, so a partner's CI fetching tokens or a whole office behind
one proxy is never held back for signing in. What is locked is a username, for LOCK_SECONDS:
- after USERNAME_MAX_FAILURES failures for it in WINDOW_SECONDS, from anywhere (guessing one account);
- after a single failure for it from an address that already has ADDRESS_MAX_FAILURES failures in the
  window (one address trying many usernames: each then gets one guess, not USERNAME_MAX_FAILURES).
A locked username is refused even with its right password (say so to the user); any other username
signs in with its right password whatever its address has done. A successful sign-in clears the
username's count. Counters live in the shared cache, so the limits hold across web processes.

Checking a password is Django's PBKDF2 (a large fraction of a second of CPU, right or wrong, and for an
unknown username too), so a flood of sign-ins with many usernames would hold every web worker and stop
every partner. A check needs a turn: at most CHECKS_AT_ONCE run at once in each of two lanes, shared by
every web process: addresses with failed sign-ins in the window ("failing") and every other ("fresh"), so
a flood only contends for its own lane. A sign-in that finds its lane full is answered at once (429,
`Retry-After: 1`) instead of waiting in a worker.
"""

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator

from django.core.cache import cache

from api.errors import RateLimitExceeded
from infrastructure.shared_cache import requires_shared_cache

USERNAME_MAX_FAILURES = 10
ADDRESS_MAX_FAILURES = 30
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
CHECKS_AT_ONCE = 1  # per lane, across every web process: a check is a large fraction of a core
TURN_SECONDS = 10  # a turn whose holder died (a killed worker) frees itself after this
BUSY_MESSAGE = "Sign-ins are busy right now: try again in a second."


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


@contextlib.contextmanager
def password_check_turn(*, address: str) -> Iterator[None]:
    """Hold a turn for one password check while the block runs; RateLimitExceeded at once when the
    address's lane has none free."""
    lane = "failing" if cache.get(_address_failures_key(address)) else "fresh"
    token = secrets.token_hex(8)
    for slot in range(CHECKS_AT_ONCE):
        turn = f"login:turn:{lane}:{slot}"
        if cache.add(turn, token, TURN_SECONDS):  # atomic: one holder per slot across processes
            try:
                yield
            finally:
                if cache.get(turn) == token:
                    cache.delete(turn)
            return
    raise RateLimitExceeded(BUSY_MESSAGE, details={"retryAfter": 1}, headers={"Retry-After": "1"})
