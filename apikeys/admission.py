"""Request admission: who is calling and may they, on every partner request (the hot path).

Everything the hot path reads lives here: the key format, the cache entry a verified key leaves
(`ApiKeyPrincipal.as_cache_entry`), the tombstones revocation and suspension write, the Lua script that
checks all of that and counts the rate limit in one Redis round trip (`apikey_admit`), and the slow path
(one query, one bcrypt in the prefix's turn) for a key not verified yet. apikeys/services.py writes what
this module reads (keys, tombstones) and re-exports its public names.

Verification: bcrypt (cost 10) takes ~60 ms, so a key that verified once is remembered in the shared cache
under an HMAC of the key (never the key itself). Revocation writes a tombstone for the key's prefix that
every web process checks in the same cache round trip, so a revoked key fails on the very next request.
Private Django and redis-py internals used here and in infrastructure/shared_cache.py: see UPGRADING.md.
"""

import hmac
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import bcrypt
from django.conf import settings

from api.client_address import UNKNOWN as UNKNOWN_ADDRESS
from api.credentials import API_KEY_PREFIX_PATTERN, LIVE_KEY_PREFIX, TEST_KEY_PREFIX
from api.errors import InvalidApiKey
from apikeys import guard
from apikeys.models import ApiKey
from apikeys.principal import ENTRY_SEPARATORS, ApiKeyPrincipal, principal_from_entry
from apikeys.ratelimit import (
    CONDITIONAL,
    GCRA_LUA_FUNCTION,
    WINDOWS_LUA_FUNCTION,
    RateLimitDecision,
    bucket_key,
    decision_from,
    month_end_ms,
    window_keys,
    windows_decision,
    windows_hit,
)
from infrastructure.shared_cache import (
    redis_hot_client,
    requires_shared_cache,
    shared_get_many,
    shared_set_many,
)
from organizations.services import organization_sandbox

KEY_ALPHABET = string.ascii_letters + string.digits
LOOKUP_LENGTH = 8  # characters after gx_live_ / gx_test_ that form keyPrefix
SECRET_LENGTH = 32  # base62: ~190 bits; the whole key (48 bytes) stays under bcrypt's 72-byte limit
KEY_PATTERN = re.compile(rf"^(?:{API_KEY_PREFIX_PATTERN})[A-Za-z0-9]{{{LOOKUP_LENGTH + SECRET_LENGTH}}}$")
BCRYPT_ROUNDS = 10
# Revocation, expiry and suspension do not wait for this: they are checked on every request. It bounds how
# long a verification survives if its tombstone is ever lost (e.g. evicted under memory pressure).
VERIFIED_TTL_SECONDS = 300
# How long a key that passed bcrypt is known to be right, so that when its entry above expires (or the key
# changes) it is refreshed from the row without another bcrypt. Only the slow path reads it, after the row
# (revocation, expiry, suspension), so it never lets a key through that the row refuses.
VERIFIED_PROOF_TTL_SECONDS = 86400

# Tombstone values: why a key prefix is refused without looking further.
BLOCKED_REVOKED = "revoked"
BLOCKED_SUSPENDED = "suspended"
_BLOCKED_MESSAGES = {
    BLOCKED_REVOKED: "API key has been revoked.",
    BLOCKED_SUSPENDED: "The organization for this API key is suspended.",
}


def _unknown_address() -> str:
    return UNKNOWN_ADDRESS


def _fingerprint(raw_key: str) -> str:
    """Cache key for a verified key: keyed, so a cache dump cannot be turned back into keys."""
    return hmac.digest(settings.SECRET_KEY.encode(), raw_key.encode(), "sha256").hex()  # one C call


def verified_cache_key(raw_key: str) -> str:
    return f"gx:apikey:ok:{_fingerprint(raw_key)}"


def verified_proof_cache_key(raw_key: str) -> str:
    return f"gx:apikey:proof:{_fingerprint(raw_key)}"


def blocked_cache_key(key_prefix: str) -> str:
    return f"gx:apikey:blocked:{key_prefix}"


def version_cache_key(key_prefix: str) -> str:
    """The key's current version, written when it changes: entries cached at an older one are stale."""
    return f"gx:apikey:version:{key_prefix}"


def _entry_current(entry: str, floor: str | None) -> bool:
    """An entry of this format whose version is not older than the key's last change."""
    if not entry[:1].isdigit() or entry.count("|") != ENTRY_SEPARATORS:
        return False
    return floor is None or int(entry.split("|", 6)[5]) >= int(floor)


@requires_shared_cache
def apikey_authenticate(
    raw_key: str | None, *, address: Callable[[], str] = _unknown_address
) -> ApiKeyPrincipal:
    """Return the caller for an `X-API-Key` value, or raise InvalidApiKey (always 401).

    Hot path (key verified before): one cache round trip (verified entry + tombstone) and no database
    query. Slow path: one indexed query and one bcrypt, one at a time per key prefix and lane
    (apikeys.guard): a request that finds the turn taken gets RateLimitExceeded (429, Retry-After: 1) at
    once, never a wait and never a 401 for anybody else's failures. `address` answers the client's
    address (api.client_address), which picks the lane; it is called on the slow path only, because
    behind trusted proxies working it out costs ~18 µs, a few percent of a hot-path request. Raises
    ServiceUnavailable (503) when Redis is unreachable: see infrastructure/shared_cache.py.
    """
    key_prefix = _key_prefix_of(raw_key)
    verified_key = verified_cache_key(raw_key)
    blocked_key = blocked_cache_key(key_prefix)
    version_key = version_cache_key(key_prefix)
    found = shared_get_many([verified_key, blocked_key, version_key])
    blocked = found.get(blocked_key)
    if blocked:
        raise InvalidApiKey(_BLOCKED_MESSAGES.get(blocked, _BLOCKED_MESSAGES[BLOCKED_REVOKED]))
    cached = found.get(verified_key)
    # An entry of an older format, or cached before the key's last PATCH or roll, is verified again.
    if cached is not None and _entry_current(cached, found.get(version_key)):
        return _principal_from_cached(cached)
    return _verify_slow(raw_key, key_prefix, verified_key, address)


def _key_prefix_of(raw_key: str | None) -> str:
    """The key's lookup prefix, or InvalidApiKey if the value cannot be one of our keys."""
    if not raw_key:
        raise InvalidApiKey("Missing X-API-Key header.")
    if not KEY_PATTERN.match(raw_key):
        raise InvalidApiKey(
            f"API key is malformed. Keys look like {LIVE_KEY_PREFIX} (or {TEST_KEY_PREFIX}) followed by "
            f"{LOOKUP_LENGTH + SECRET_LENGTH} letters and digits."
        )
    return raw_key[: len(LIVE_KEY_PREFIX) + LOOKUP_LENGTH]  # both modes' prefixes have one length


# The partner hot path in one Redis round trip: tombstone, verified entry, expiry (on Redis's clock)
# and every window of the key (apikeys.ratelimit.WINDOWS_LUA_FUNCTION: minute, hour, day, monthly quota), in
# that order, so a refused key is never counted against its limits. An entry
# cached before the key's last change (its version is below the key's version marker) is "unverified",
# "unverified contended" when a bcrypt turn of its prefix is taken (apikeys.guard: checks running or spaced
# out), so the slow path asks for the turn before spending a query.
# KEYS: verified entry, tombstone, minute bucket, version marker, the prefix's two turns, hour and day
# buckets, this month's quota count; for a conditional GET (ConditionalProbe) also the resource's poll stamp
# and the key's conditional bucket. ARGV: when this month ends (unix ms); for a conditional GET the ceiling
# (CONDITIONAL_CEILING_FACTOR) and the tokens the client holds.
# The answer is one string (a single bulk reply parses faster than a list of seven): a word when the key
# is refused or unknown, "c remaining resetMs nowMs token entry" for a conditional GET whose token is the
# stamp's (counted in its own bucket only: the view answers 304), else
# "allowed window remaining retryMs resetMs nowMs entry".
_ADMIT_LUA = (
    GCRA_LUA_FUNCTION
    + WINDOWS_LUA_FUNCTION
    + """
local function unverified()
  if redis.call('EXISTS', KEYS[5], KEYS[6]) > 0 then return 'unverified contended' end
  return 'unverified'
end
local blocked = redis.call('GET', KEYS[2])
if blocked then return 'blocked ' .. blocked end
local entry = redis.call('GET', KEYS[1])
if not entry then return unverified() end
local minute, hour, day, quota, expires, version =
  string.match(entry, '^(%d+)|(%d+)|(%d+)|(%d*)|(%d*)|(%d+)|')
if not minute then return unverified() end
local floor = redis.call('GET', KEYS[4])
if floor and tonumber(version) < tonumber(floor) then return unverified() end
local now = redis_now_ms()
if expires ~= '' and tonumber(expires) <= now then return 'expired' end
if KEYS[10] then
  local owner, token = string.match(redis.call('GET', KEYS[10]) or '', '^([^|]+)|(.+)$')
  if owner and string.find(entry, '|' .. owner .. '|', 1, true) then
    for i = 3, #ARGV do
      if ARGV[i] == token then
        local step = gcra_step(KEYS[11], tonumber(minute) * tonumber(ARGV[2]), 60000, now)
        if step[1] == 1 then
          return string.format('c %d %d %d %s %s', step[2], step[4], now, token, entry)
        end
        break
      end
    end
  end
end
local limits = {tonumber(minute), tonumber(hour), tonumber(day)}
local step = windows_step({KEYS[3], KEYS[7], KEYS[8]}, limits, KEYS[9], quota, tonumber(ARGV[1]), now)
return string.format('%d %d %d %d %d %d %s', step[1], step[2], step[3], step[4], step[5], now, entry)
"""
)
_admit_script = None


# A conditional GET whose token is current is counted against this many times the key's limit per minute,
# in its own bucket, instead of the key's limits (GitHub's rule: conditional polling is the cheap choice).
CONDITIONAL_CEILING_FACTOR = 10


@dataclass
class ConditionalProbe:
    """A conditional GET's poll stamp (tryons.poll_stamps) and the tokens its If-None-Match holds;
    `matched` is set to the stamp's token when admission found it current and counted it as conditional."""

    stamp_key: str
    tokens: list[str]
    matched: str | None = None


@requires_shared_cache
def apikey_admit(
    raw_key: str | None,
    *,
    address: Callable[[], str] = _unknown_address,
    conditional: ConditionalProbe | None = None,
) -> tuple[ApiKeyPrincipal, RateLimitDecision]:
    """Authenticate a partner request and count it against every window of the key's limits.

    The same guarantees as apikey_authenticate followed by windows_hit, in one Redis round trip for
    a key verified before: a revoked, suspended or expired key is refused (401) and not counted; the
    count is atomic across processes, and a request any window refuses is counted in none. A key not
    verified yet takes the slow path (one query, one bcrypt
    in its prefix's turn, or 429 at once when the turn is taken: see apikey_authenticate) and is then
    counted in a second round trip. The returned decision (the tightest window, or the one that refused)
    may refuse the request; raising 429 is the caller's job, after the headers are attached. 503 when
    Redis is unreachable. With `conditional`, a key verified before whose probe's stamp belongs to its
    organization and names one of the probe's tokens is counted in its conditional bucket instead (while
    that admits it): the decision's window is CONDITIONAL and `conditional.matched` the token.
    """
    client = redis_hot_client()
    if client is None:
        principal = apikey_authenticate(raw_key, address=address)
        return principal, windows_hit(key_prefix=principal.key_prefix, windows=principal.windows)
    key_prefix = _key_prefix_of(raw_key)
    verified_key = verified_cache_key(raw_key)
    global _admit_script
    if _admit_script is None:
        _admit_script = client.register_script(_ADMIT_LUA)
    minute_key, hour_key, day_key, quota_key = window_keys(key_prefix)
    keys = [
        verified_key,
        blocked_cache_key(key_prefix),
        minute_key,
        version_cache_key(key_prefix),
        *guard.turn_keys(key_prefix),
        hour_key,
        day_key,
        quota_key,
    ]
    args = [month_end_ms()]
    if conditional is not None and conditional.tokens:
        keys += [conditional.stamp_key, bucket_key(f"{key_prefix}:conditional")]
        args += [CONDITIONAL_CEILING_FACTOR, *conditional.tokens]
    answer = _admit_script(keys=keys, args=args, client=client).decode()
    if answer[0] == "c":
        _, remaining, reset_ms, now_ms, conditional.matched, entry = answer.split(" ")
        principal = principal_from_entry(entry)
        ceiling = principal.rate_limit * CONDITIONAL_CEILING_FACTOR
        decision = decision_from(ceiling, True, int(remaining), 0, int(reset_ms), int(now_ms))
        return principal, replace(decision, window=CONDITIONAL)
    if answer[0].isdigit():
        allowed, window, remaining, retry_ms, reset_ms, now_ms, entry = answer.split(" ")
        principal = principal_from_entry(entry)
        decision = windows_decision(
            principal.windows,
            allowed == "1",
            window,
            int(remaining),
            int(retry_ms),
            int(reset_ms),
            int(now_ms),
        )
        return principal, decision
    if answer.startswith("unverified"):
        contended = answer == "unverified contended"
        principal = _verify_slow(raw_key, key_prefix, verified_key, address, contended=contended)
        # The buckets are named by the key's prefix, as in the script above.
        return principal, windows_hit(key_prefix=key_prefix, windows=principal.windows)
    if answer == "expired":
        raise InvalidApiKey("API key has expired.")
    reason = answer.removeprefix("blocked ")
    raise InvalidApiKey(_BLOCKED_MESSAGES.get(reason, _BLOCKED_MESSAGES[BLOCKED_REVOKED]))


def _verify_slow(
    raw_key: str, key_prefix: str, verified_key: str, address: Callable[[], str], *, contended: bool = False
) -> ApiKeyPrincipal:
    """One indexed query; then, for a known prefix, one bcrypt in the prefix's turn (apikeys.guard).

    A key that passed bcrypt in the last VERIFIED_PROOF_TTL_SECONDS is refreshed from its row without
    another (so is one verified by a concurrent request meanwhile). A request that cannot get the turn is
    answered at once (429, Retry-After: 1), never made to wait; when the prefix is `contended` (the
    admission script saw one of its turns taken) it asks before the query, so a flood of wrong secrets
    costs no query. No failure of anybody else makes a correct key wrong: failures only space out the
    next bcrypt.
    """
    proof_key = verified_proof_cache_key(raw_key)

    def take_turn() -> guard.VerificationTurn | None:
        # A proof, or an entry of this format, under this key's HMAC exists only because this exact key
        # passed bcrypt; it is there because the key changed since (PATCH, roll), its entry expired, or a
        # concurrent request verified it meanwhile. Then (None) the principal is refreshed from the row
        # without another bcrypt, so a key in use never needs a turn, even while its prefix is attacked.
        return guard.verification_turn_take(
            key_prefix=key_prefix,
            address=address(),
            verified_key=verified_key,
            proof_key=proof_key,
            entry_separators=ENTRY_SEPARATORS,
        )

    turn = take_turn() if contended else None
    key = ApiKey.objects.select_related("organization").filter(key_prefix=key_prefix).first()
    if key is None:
        if turn is not None:
            turn.release()
        raise InvalidApiKey("API key is not recognized.")  # unknown prefix: no bcrypt spent
    if not contended:
        turn = take_turn()
    if turn is None:
        return _verified_remember(key, verified_key, proof_key)
    try:
        if not bcrypt.checkpw(raw_key.encode(), key.key_hash.encode()):
            turn.failed()
            raise InvalidApiKey("API key is not recognized.")
        principal = _verified_remember(key, verified_key, proof_key)
        turn.succeeded()
        return principal
    finally:
        turn.release()


def _verified_remember(key: ApiKey, verified_key: str, proof_key: str) -> ApiKeyPrincipal:
    """Cache the principal of a key whose secret was just proven (InvalidApiKey if it may not be used)."""
    principal = _principal_after_check(key)
    shared_set_many({verified_key: principal.as_cache_entry()}, timeout=VERIFIED_TTL_SECONDS)
    shared_set_many({proof_key: key.key_prefix}, timeout=VERIFIED_PROOF_TTL_SECONDS)
    return principal


def _principal_from_cached(entry: str) -> ApiKeyPrincipal:
    principal = principal_from_entry(entry)
    if principal.expires_at is not None and principal.expires_at <= time.time():
        raise InvalidApiKey("API key has expired.")
    return principal


def _principal_after_check(key: ApiKey) -> ApiKeyPrincipal:
    """The principal of a key whose secret was just checked, or InvalidApiKey if it may not be used."""
    status = key.status
    if status == ApiKey.Status.REVOKED:
        raise InvalidApiKey(_BLOCKED_MESSAGES[BLOCKED_REVOKED])
    if status == ApiKey.Status.EXPIRED:
        raise InvalidApiKey("API key has expired.")
    if not key.organization.is_active:
        raise InvalidApiKey(_BLOCKED_MESSAGES[BLOCKED_SUSPENDED])
    organization_id = key.organization_id
    if key.mode == ApiKey.Mode.TEST:
        organization_id = organization_sandbox(organization=key.organization).id
    return ApiKeyPrincipal(
        key_id=key.id,
        key_prefix=key.key_prefix,
        organization_id=organization_id,
        scopes=tuple(key.scopes),
        rate_limit=key.effective_rate_limit,
        rate_limit_per_hour=key.effective_rate_limit_per_hour,
        rate_limit_per_day=key.effective_rate_limit_per_day,
        monthly_quota=key.monthly_quota,
        expires_at=key.expires_at.timestamp() if key.expires_at else None,
        version=key.version,
        mode=key.mode,
        endpoint_limits=tuple(sorted((name, int(limit)) for name, limit in key.endpoint_limits.items())),
        api_version=key.organization.api_version,  # the live organization's, for both modes
    )
