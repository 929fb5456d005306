"""Bounds the bcrypt work of the slow path of key verification; no request ever waits in a web worker for it.

A wrong secret costs a full bcrypt (~60 ms of CPU), and a key's prefix is not a secret (key lists, the console
and logs show it), so anyone could burn CPU with it at will. Waiting for a turn inside a sync worker hands
the attacker the workers instead: a few connections sending wrong secrets would starve every other
organization. Refusing the prefix or an address for a while would lock out the key's owner, or everyone
behind the same NAT, for somebody else's mistakes. Instead:

- Unknown prefixes cost one indexed query and no bcrypt; they never reach this module.
- A turn is the right to run one bcrypt for a key prefix: a short lock in the shared cache, held for that
  one check. A request that finds the turn taken is answered at once, 429 RateLimitExceeded with
  `Retry-After: 1`, unless this very key is known to be right (then it is served without bcrypt). The
  admission script tells when a prefix's turn is taken, so such an answer costs no database query: a
  flood of wrong secrets behind a known prefix costs less than one of unknown prefixes.
- Two lanes per prefix, each with its own turn: addresses that sent a wrong secret for this prefix in the
  last WINDOW_SECONDS ("failing"), and every other address ("fresh"). A flood from a few addresses
  only ever contends for the failing lane, so it cannot take the turn a partner's new key needs.
- Only failed checks are counted, per prefix. The first PREFIX_FREE_FAILURES in WINDOW_SECONDS cost what
  they cost; beyond that each failure keeps its lane's turn for FAILURE_SPACING_SECONDS, so a prefix under
  attack costs at most one bcrypt per second per lane (two a second), whatever the number of connections,
  addresses or processes.

The bound this gives a correct key that is not verified yet: its request is answered at once, and its
bcrypt is never queued behind wrong secrets. From an address that sent no wrong secret for the prefix in
the last 5 minutes it is checked on the first try that finds the fresh lane free; each other address can
take the fresh lane for at most one check (and its 1 s of spacing) per 5 minutes before it moves to the
failing lane, so retrying after each `Retry-After: 1`, the key is checked within N + 1 seconds, N being
the number of new addresses sending wrong secrets for that prefix. From an address that did send wrong
secrets (or when every request seems to come from one address: see TRUSTED_PROXIES) it shares the failing
lane, which still checks one secret a second. A key verified before is answered from the cache, or, once
its entry expired, recognised here by the proof its last check left (kept a day) and served without a
turn, so that holds under a sustained attack too.
"""

import secrets

from django.core.cache import caches

from api.errors import RateLimitExceeded
from infrastructure.shared_cache import redis_client

PREFIX_FREE_FAILURES = 10
WINDOW_SECONDS = 300
FAILURE_SPACING_SECONDS = 1.0
RETRY_AFTER_SECONDS = 1
# A turn whose holder died (killed worker) frees itself after this; a bcrypt takes ~60 ms.
TURN_TIMEOUT_SECONDS = 2.0

FRESH, FAILING = "fresh", "failing"

# Take the caller's lane's turn, unless this very key is known to be right: its proof names this prefix (or
# an entry of the current format lies under its HMAC, as written before proofs were): no bcrypt is needed.
# KEYS: the address's failing marker, the fresh turn, the failing turn, the key's verified entry, its proof.
# ARGV: token, turn timeout (ms), the key's prefix, the number of separators in a current entry.
# Answers "proven", "turn <lane>" or "taken".
_TAKE_TURN_LUA = """
if redis.call('GET', KEYS[5]) == ARGV[3] then return 'proven' end
local entry = redis.call('GET', KEYS[4])
if entry and string.match(entry, '^%d') and select(2, string.gsub(entry, '|', '')) == tonumber(ARGV[4]) then
  return 'proven'
end
local turn, lane = KEYS[2], 'fresh'
if redis.call('EXISTS', KEYS[1]) == 1 then turn, lane = KEYS[3], 'failing' end
if redis.call('SET', turn, ARGV[1], 'NX', 'PX', ARGV[2]) then return 'turn ' .. lane end
return 'taken'
"""
# Count a failed check and end the turn if it is still ours (one that timed out may have gone to another
# caller): past the free allowance keep it ARGV[4] ms to space out the next check, else release it.
# KEYS: the prefix's failure count, the address's failing marker, the turn.
# ARGV: token, window (s), free failures, spacing (ms).
_TURN_FAILED_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  if count > tonumber(ARGV[3]) then
    redis.call('PEXPIRE', KEYS[3], ARGV[4])
  else
    redis.call('DEL', KEYS[3])
  end
end
return count
"""
_RELEASE_TURN_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_scripts = {}


def _script(client, source: str):
    if source not in _scripts:
        _scripts[source] = client.register_script(source)
    return _scripts[source]


def _turn_key(key_prefix: str, lane: str) -> str:
    return f"gx:apikey:turn:{lane}:{key_prefix}"


def turn_keys(key_prefix: str) -> tuple[str, str]:
    """Both turns of a prefix: the admission script looks at them to tell a contended prefix."""
    return _turn_key(key_prefix, FRESH), _turn_key(key_prefix, FAILING)


def _failures_key(key_prefix: str) -> str:
    return f"gx:apikey:failures:{key_prefix}"


def _failing_key(key_prefix: str, address: str) -> str:
    return f"gx:apikey:failing:{key_prefix}:{address}"


class VerificationTurn:
    """The right to run one bcrypt for one key prefix in one lane; end it with succeeded() or failed()."""

    def __init__(self, key_prefix: str, lane: str, address: str, token: str):
        self.key_prefix = key_prefix
        self.lane = lane
        self.address = address
        self.token = token
        self.ended = False

    def succeeded(self) -> None:
        self.release()

    def failed(self) -> None:
        """Count a wrong secret and mark its address as failing; past the free allowance, keep the turn
        for FAILURE_SPACING_SECONDS to space out the lane's next check."""
        self.ended = True
        _turn_failed(self)

    def release(self) -> None:
        """End the turn if nothing else did (the check raised): free it for the next caller."""
        if not self.ended:
            self.ended = True
            _turn_release(self)


def verification_turn_take(
    *, key_prefix: str, address: str, verified_key: str, proof_key: str, entry_separators: int
) -> VerificationTurn | None:
    """Take this prefix's turn in the caller's lane to run bcrypt, without waiting.

    Returns None when this very key is known to be right (its proof, written when it passed bcrypt, names
    `key_prefix`, or a verified entry with `entry_separators` separators lies under its HMAC): no bcrypt
    is needed. Else the turn. Raises RateLimitExceeded (429, Retry-After: 1) at once when the lane's turn
    is taken: a check is running, or failures are being spaced out. One round trip.
    """
    token = secrets.token_hex(8)
    client = redis_client()
    if client is None:
        answer = _turn_take_locally(key_prefix, address, verified_key, proof_key, entry_separators, token)
    else:
        answer = _script(client, _TAKE_TURN_LUA)(
            keys=[
                _failing_key(key_prefix, address),
                _turn_key(key_prefix, FRESH),
                _turn_key(key_prefix, FAILING),
                verified_key,
                proof_key,
            ],
            args=[token, int(TURN_TIMEOUT_SECONDS * 1000), key_prefix, entry_separators],
            client=client,
        ).decode()
    if answer == "proven":
        return None
    if answer == "taken":
        raise RateLimitExceeded(
            "Too many checks of this API key at once. Retry in a second.",
            details={"retryAfter": RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return VerificationTurn(key_prefix, answer.removeprefix("turn "), address, token)


# Embedded mode (one process, local-memory cache): the same steps, not atomic across processes, which
# there are none of.


def _turn_take_locally(key_prefix, address, verified_key, proof_key, entry_separators, token) -> str:
    cache = caches["default"]
    entry = cache.get(verified_key)
    if cache.get(proof_key) == key_prefix or (
        entry is not None and entry[:1].isdigit() and entry.count("|") == entry_separators
    ):
        return "proven"
    lane = FAILING if cache.get(_failing_key(key_prefix, address)) else FRESH
    return f"turn {lane}" if cache.add(_turn_key(key_prefix, lane), token, TURN_TIMEOUT_SECONDS) else "taken"


def _turn_failed(turn: VerificationTurn) -> int:
    turn_key = _turn_key(turn.key_prefix, turn.lane)
    client = redis_client()
    if client is not None:
        return _script(client, _TURN_FAILED_LUA)(
            keys=[_failures_key(turn.key_prefix), _failing_key(turn.key_prefix, turn.address), turn_key],
            args=[turn.token, WINDOW_SECONDS, PREFIX_FREE_FAILURES, int(FAILURE_SPACING_SECONDS * 1000)],
            client=client,
        )
    cache = caches["default"]
    cache.add(_failures_key(turn.key_prefix), 0, WINDOW_SECONDS)
    try:
        count = cache.incr(_failures_key(turn.key_prefix))
    except ValueError:  # the window expired between add() and incr()
        cache.set(_failures_key(turn.key_prefix), 1, WINDOW_SECONDS)
        count = 1
    cache.set(_failing_key(turn.key_prefix, turn.address), 1, WINDOW_SECONDS)
    if cache.get(turn_key) == turn.token:
        if count > PREFIX_FREE_FAILURES:
            cache.set(turn_key, turn.token, FAILURE_SPACING_SECONDS)
        else:
            cache.delete(turn_key)
    return count


def _turn_release(turn: VerificationTurn) -> None:
    turn_key = _turn_key(turn.key_prefix, turn.lane)
    client = redis_client()
    if client is not None:
        _script(client, _RELEASE_TURN_LUA)(keys=[turn_key], args=[turn.token], client=client)
        return
    cache = caches["default"]
    if cache.get(turn_key) == turn.token:
        cache.delete(turn_key)
