"""Bounds the bcrypt work of the slow path of key verification without ever refusing a correct key.

A wrong secret costs a full bcrypt (~60 ms of CPU), so someone who knows a key's prefix (not a secret)
could burn CPU at will. Refusing the prefix or the client address after some failures would lock out
the key's owner, or everyone behind the same NAT, for somebody else's mistakes. Instead:

- Unknown prefixes cost one indexed query and no bcrypt; they are not counted at all.
- Single flight per prefix: at most one bcrypt per key prefix runs at a time, across every web process
  (a short lock in the shared cache, its "turn"). A caller that waits re-reads the verified entry each
  time it looks at the turn, so concurrent first requests with one key cost one bcrypt and all succeed.
- Only failed bcrypt checks are counted, per prefix. The first PREFIX_FREE_FAILURES in WINDOW_SECONDS
  cost what they cost; beyond that each failure keeps the prefix's turn for FAILURE_SPACING_SECONDS,
  so a prefix under attack costs at most one bcrypt per FAILURE_SPACING_SECONDS, whatever the number of
  attackers, addresses or processes. A correct key still gets its turn and verifies; under a concurrent
  flood on its own prefix it may wait up to TURN_WAIT_SECONDS and then be asked to retry (503 with
  Retry-After), never told its key is wrong.

Keys verified before are answered from the cache and never reach this module.
"""

import secrets
import time

from django.core.cache import caches

from config.errors import ServiceUnavailable
from config.shared_cache import redis_client, shared_get_many

PREFIX_FREE_FAILURES = 10
WINDOW_SECONDS = 300
FAILURE_SPACING_SECONDS = 1.0
TURN_WAIT_SECONDS = 2.5  # > the spacing plus one bcrypt, so a sequential caller always gets the next turn
# A turn whose holder died (killed worker) frees itself after this; a bcrypt takes ~60 ms.
TURN_TIMEOUT_SECONDS = 5.0
_POLL_SECONDS = 0.01

# Ends a turn only if it is still ours (a turn that timed out may have gone to another caller):
# release it, or keep it ARGV[2] more milliseconds to space out failures.
_END_TURN_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('DEL', KEYS[1])
"""
_end_turn_script = None


def _turn_key(key_prefix: str) -> str:
    return f"gx:apikey:turn:{key_prefix}"


def _failures_key(key_prefix: str) -> str:
    return f"gx:apikey:failures:{key_prefix}"


class VerificationTurn:
    """The right to run bcrypt for one key prefix; end it with succeeded() or failed()."""

    def __init__(self, key_prefix: str, token: str):
        self.key_prefix = key_prefix
        self.token = token
        self.ended = False

    def succeeded(self) -> None:
        self._end(hold_seconds=0)

    def failed(self) -> None:
        """Count a wrong secret; past the free allowance, keep the turn to space out the next bcrypt."""
        failures = _failures_count(self.key_prefix)
        self._end(hold_seconds=FAILURE_SPACING_SECONDS if failures > PREFIX_FREE_FAILURES else 0)

    def release(self) -> None:
        """End the turn if nothing else did (the check raised): free it for the next caller."""
        if not self.ended:
            self._end(hold_seconds=0)

    def _end(self, hold_seconds: float) -> None:
        self.ended = True
        _turn_end(self.key_prefix, self.token, hold_seconds)


def verification_turn_wait(
    *, key_prefix: str, verified_key: str
) -> tuple[str | None, VerificationTurn | None]:
    """Wait for this prefix's turn to run bcrypt.

    Returns (entry, None) when the verified entry for this very key appeared meanwhile (another caller
    with the same key verified it: reuse it, no bcrypt), else (None, turn). Raises ServiceUnavailable
    (503, Retry-After) if the turn stays taken for TURN_WAIT_SECONDS, which only a concurrent flood of
    checks on this prefix can cause.
    """
    token = secrets.token_hex(8)
    deadline = time.monotonic() + TURN_WAIT_SECONDS
    waited = False
    while True:
        if _turn_take(key_prefix, token):
            turn = VerificationTurn(key_prefix, token)
            if waited:
                # The holder we waited for may have verified this very key just before it let go.
                entry = shared_get_many([verified_key]).get(verified_key)
                if entry is not None:
                    turn.succeeded()
                    return entry, None
            return None, turn
        entry = shared_get_many([verified_key]).get(verified_key)
        if entry is not None:
            return entry, None
        if time.monotonic() >= deadline:
            raise ServiceUnavailable(
                "This API key is being verified by too many requests at once. Retry shortly.",
                details={"retryAfter": 1},
                headers={"Retry-After": "1"},
            )
        waited = True
        time.sleep(_POLL_SECONDS)


def _turn_take(key_prefix: str, token: str) -> bool:
    client = redis_client()
    if client is None:
        return caches["default"].add(_turn_key(key_prefix), token, TURN_TIMEOUT_SECONDS)
    return bool(client.set(_turn_key(key_prefix), token, nx=True, px=int(TURN_TIMEOUT_SECONDS * 1000)))


def _turn_end(key_prefix: str, token: str, hold_seconds: float) -> None:
    client = redis_client()
    if client is None:
        cache = caches["default"]
        if cache.get(_turn_key(key_prefix)) == token:
            if hold_seconds:
                cache.set(_turn_key(key_prefix), token, hold_seconds)
            else:
                cache.delete(_turn_key(key_prefix))
        return
    global _end_turn_script
    if _end_turn_script is None:
        _end_turn_script = client.register_script(_END_TURN_LUA)
    _end_turn_script(keys=[_turn_key(key_prefix)], args=[token, int(hold_seconds * 1000)], client=client)


def _failures_count(key_prefix: str) -> int:
    """Count one failed bcrypt for the prefix in the current window; return the window's count."""
    client = redis_client()
    if client is None:
        cache = caches["default"]
        cache.add(_failures_key(key_prefix), 0, WINDOW_SECONDS)
        try:
            return cache.incr(_failures_key(key_prefix))
        except ValueError:  # the window expired between add() and incr()
            cache.set(_failures_key(key_prefix), 1, WINDOW_SECONDS)
            return 1
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(_failures_key(key_prefix))
        pipe.expire(_failures_key(key_prefix), WINDOW_SECONDS, nx=True)
        count, _ = pipe.execute()
    return count
