"""API keys: creation (the secret is shown once), changes, rolls, revocation, their audit trail, and
blocking a suspended organization's keys.

Revocation and suspension write tombstones that the hot path (apikeys/admission.py) checks on every
request, so a revoked or blocked key fails on the very next request on every process. A change (PATCH,
roll) bumps the key's version and writes it to the shared cache the same way: every process re-reads a
verification cached at an older version on its next request (without another bcrypt).
"""

import secrets
from datetime import datetime, timedelta

import bcrypt
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from api.credentials import API_KEY_PREFIXES
from api.errors import Conflict, ValidationError
from api.timestamps import timestamp_text

# Request admission lives in apikeys/admission.py; its public names stay importable from here.
from apikeys.admission import (
    BCRYPT_ROUNDS,
    BLOCKED_REVOKED,
    BLOCKED_SUSPENDED,
    KEY_ALPHABET,
    KEY_PATTERN,
    LOOKUP_LENGTH,
    SECRET_LENGTH,
    ApiKeyPrincipal,
    apikey_admit,
    apikey_authenticate,
    blocked_cache_key,
    verified_cache_key,
    version_cache_key,
)
from apikeys.limits import validate_endpoint_limits, validate_rate_limit, validate_window_limit
from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.scopes import SCOPES
from infrastructure.shared_cache import requires_shared_cache, shared_delete_many, shared_set_many
from organizations.models import Organization
from organizations.services import organization_sandbox

ROLL_DEFAULT_SECONDS = 86400
ROLL_MAX_SECONDS = 7 * 86400

__all__ = [
    "KEY_PATTERN",
    "LOOKUP_LENGTH",
    "SECRET_LENGTH",
    "ApiKeyPrincipal",
    "verified_cache_key",
    "apikey_admit",
    "apikey_authenticate",
    "apikey_create",
    "apikey_expired_record",
    "apikey_revoke",
    "apikey_roll",
    "apikey_update",
    "validate_endpoint_limits",
    "organization_keys_block",
    "organization_keys_unblock",
    "organization_status_changed_receive",
    "organization_keys_refresh",
    "validate_scopes",
]


def _random(length: int) -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(length))


def validate_scopes(scopes) -> list[str]:
    if not isinstance(scopes, list) or not scopes:
        raise ValidationError(details={"scopes": ["Give at least one scope."]})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationError(details={"scopes": [f"Unknown scope(s): {', '.join(map(str, unknown))}."]})
    return sorted(set(scopes))


def _expiry_check(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(details={"expiresAt": ["Must be in the future."]})


def apikey_create(
    *,
    organization: Organization,
    name: str,
    scopes: list[str],
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
    created_by=None,
    mode: str = ApiKey.Mode.LIVE,
    endpoint_limits: dict[str, int] | None = None,
    rolled_from: ApiKey | None = None,
    rate_limit_per_hour: int | None = None,
    rate_limit_per_day: int | None = None,
    monthly_quota: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret, which is never stored and never shown again.

    A test key (`gx_test_…`) acts as the organization's sandbox, created with its first test key.
    Limits left None take the defaults (RATE_LIMIT_PER_HOUR_DEFAULT, …); a None quota is no quota.
    """
    scopes = validate_scopes(scopes)
    _expiry_check(expires_at)
    rate_limit = validate_rate_limit(rate_limit)
    rate_limit_per_hour = validate_window_limit(rate_limit_per_hour, "rateLimitPerHour")
    rate_limit_per_day = validate_window_limit(rate_limit_per_day, "rateLimitPerDay")
    monthly_quota = validate_window_limit(monthly_quota, "monthlyQuota")
    endpoint_limits = validate_endpoint_limits(endpoint_limits)
    if mode not in ApiKey.Mode.values:
        raise ValidationError(details={"mode": [f"Must be one of {', '.join(ApiKey.Mode.values)}."]})
    if mode == ApiKey.Mode.TEST:
        organization_sandbox(organization=organization)
    actor = created_by if getattr(created_by, "pk", None) else None
    prefix = API_KEY_PREFIXES[mode]
    for _ in range(5):
        raw_key = prefix + _random(LOOKUP_LENGTH) + _random(SECRET_LENGTH)
        key_hash = bcrypt.hashpw(raw_key.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    organization=organization,
                    mode=mode,
                    name=name,
                    key_prefix=raw_key[: len(prefix) + LOOKUP_LENGTH],
                    key_hash=key_hash,
                    scopes=scopes,
                    rate_limit=rate_limit,
                    rate_limit_per_hour=rate_limit_per_hour,
                    rate_limit_per_day=rate_limit_per_day,
                    monthly_quota=monthly_quota,
                    endpoint_limits=endpoint_limits,
                    expires_at=expires_at,
                    created_by=actor,
                )
                changes = {"mode": mode, "scopes": scopes}
                if rolled_from is not None:
                    changes["rolledFrom"] = rolled_from.id
                ApiKeyEvent.objects.create(
                    api_key=key, kind=ApiKeyEvent.Kind.CREATED, actor=actor, changes=changes
                )
        except IntegrityError:
            continue  # 62^8 prefixes: a collision is rare, and the unique index turns it into a retry
        return key, raw_key
    raise RuntimeError("could not allocate a unique API key prefix")


# PATCH fields: the model attribute behind each, and how a value is checked.
_UPDATABLE = {
    "name": "name",
    "scopes": "scopes",
    "rateLimit": "rate_limit",
    "rateLimitPerHour": "rate_limit_per_hour",
    "rateLimitPerDay": "rate_limit_per_day",
    "monthlyQuota": "monthly_quota",
    "expiresAt": "expires_at",
    "endpointLimits": "endpoint_limits",
}


def _json_value(value):
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


@requires_shared_cache
def apikey_update(*, key: ApiKey, data: dict, actor=None) -> ApiKey:
    """Change a key's name, scopes, rateLimit / rateLimitPerHour / rateLimitPerDay (null = the default),
    monthlyQuota (null = none), expiresAt (null = never) or endpointLimits, effective from the next request
    on every web process.

    The row is locked, so concurrent changes apply one after the other and each records what it changed.
    The new version is written to the shared cache inside the transaction: if Redis is unreachable the
    change fails as a whole (503) rather than leaving processes on the old scopes. Only an active key can
    change (409 otherwise: revoked and expired keys stay as they ended). A rolled key's expiresAt can only
    be brought forward (409 for null or later, nothing changed), so its grace ends when the roll said.
    """
    cleaned = {}
    if "name" in data:
        cleaned["name"] = data["name"]
    if "scopes" in data:
        cleaned["scopes"] = validate_scopes(data["scopes"])
    if "rateLimit" in data:
        cleaned["rate_limit"] = validate_rate_limit(data["rateLimit"])
    for field in ("rateLimitPerHour", "rateLimitPerDay", "monthlyQuota"):
        if field in data:
            cleaned[_UPDATABLE[field]] = validate_window_limit(data[field], field)
    if "expiresAt" in data:
        _expiry_check(data["expiresAt"])
        cleaned["expires_at"] = data["expiresAt"]
    if "endpointLimits" in data:
        cleaned["endpoint_limits"] = validate_endpoint_limits(data["endpointLimits"])
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.status != ApiKey.Status.ACTIVE:
            raise Conflict(f"API key {key.id} is {locked.status} and can no longer be changed.")
        if "expires_at" in cleaned:
            _grace_check(locked, cleaned["expires_at"])
        changes = {}
        for field, attr in _UPDATABLE.items():
            if attr in cleaned and getattr(locked, attr) != cleaned[attr]:
                changes[field] = {
                    "from": _json_value(getattr(locked, attr)),
                    "to": _json_value(cleaned[attr]),
                }
                setattr(locked, attr, cleaned[attr])
        if changes:
            locked.version = F("version") + 1
            locked.save(update_fields=[*(a for a in cleaned if _field_of(a) in changes), "version"])
            locked.refresh_from_db(fields=["version"])
            ApiKeyEvent.objects.create(
                api_key=locked, kind=ApiKeyEvent.Kind.UPDATED, actor=_user(actor), changes=changes
            )
            _version_write(locked)
    return locked


def _grace_check(key: ApiKey, expires_at: datetime | None) -> None:
    """A replaced key's end was planned by its roll: it may come sooner, never later or never (409)."""
    if key.replaced_by_id is None or key.expires_at is None:
        return
    if expires_at is None or expires_at > key.expires_at:
        planned = timestamp_text(key.expires_at)
        raise Conflict(
            f"API key {key.id} was replaced by {key.replaced_by_id} and stops working at {planned}. "
            "That can be brought forward, never removed or put off.",
            details={"expiresAt": planned, "replacedBy": key.replaced_by_id},
        )


def _field_of(attr: str) -> str:
    return next(field for field, name in _UPDATABLE.items() if name == attr)


@requires_shared_cache
def apikey_roll(*, key: ApiKey, expires_in: int = ROLL_DEFAULT_SECONDS, actor=None) -> tuple[ApiKey, str]:
    """Replace a key without downtime: a new key (shown once) with the same name, mode, scopes and limits,
    while the old one keeps working for `expires_in` seconds (0 = stops now, at most 7 days), then 401.

    The old key's row is locked, so a key is rolled once: rolling it again is a 409 (roll the new key).
    A planned expiry of the old key is carried to the new one and never extended on the old one.
    """
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int)
        or not 0 <= expires_in <= ROLL_MAX_SECONDS
    ):
        raise ValidationError(
            details={"expiresIn": [f"Must be an integer from 0 to {ROLL_MAX_SECONDS} seconds."]}
        )
    now = timezone.now()
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().select_related("organization").get(pk=key.pk)
        if old.status != ApiKey.Status.ACTIVE:
            raise Conflict(f"API key {key.id} is {old.status} and cannot be rolled.")
        if old.replaced_by_id:
            raise Conflict(
                f"API key {key.id} was already rolled; roll its replacement {old.replaced_by_id} instead.",
                details={"replacedBy": old.replaced_by_id},
            )
        planned = old.expires_at
        new, raw_key = apikey_create(
            organization=old.organization,
            name=old.name,
            scopes=old.scopes,
            rate_limit=old.rate_limit,
            rate_limit_per_hour=old.rate_limit_per_hour,
            rate_limit_per_day=old.rate_limit_per_day,
            monthly_quota=old.monthly_quota,
            expires_at=planned if planned and planned > now + timedelta(seconds=1) else None,
            created_by=actor,
            mode=old.mode,
            endpoint_limits=old.endpoint_limits,
            rolled_from=old,
        )
        grace_end = now + timedelta(seconds=expires_in)
        if planned is not None and planned < grace_end:
            grace_end = planned
        ApiKey.objects.filter(pk=old.pk).update(
            expires_at=grace_end, replaced_by=new, version=F("version") + 1
        )
        old.refresh_from_db(fields=["expires_at", "replaced_by", "version"])
        ApiKeyEvent.objects.create(
            api_key=old,
            kind=ApiKeyEvent.Kind.ROLLED,
            actor=_user(actor),
            changes={
                "replacedBy": new.id,
                "expiresAt": {"from": _json_value(planned), "to": _json_value(grace_end)},
            },
        )
        _version_write(old)
    return new, raw_key


def apikey_expired_record(*, now: datetime | None = None) -> int:
    """Record an `expired` event for every key whose expiry has passed (run by beat every minute).

    The unique constraint on (key, expired) makes overlapping runs harmless. Returns how many it recorded.
    """
    now = now or timezone.now()
    expired = ApiKey.objects.filter(expires_at__lte=now, revoked_at__isnull=True).exclude(
        events__kind=ApiKeyEvent.Kind.EXPIRED
    )
    events = [
        ApiKeyEvent(api_key_id=key_id, kind=ApiKeyEvent.Kind.EXPIRED, created_at=expires_at, changes={})
        for key_id, expires_at in expired.values_list("id", "expires_at")[:1000]
    ]
    return len(ApiKeyEvent.objects.bulk_create(events, ignore_conflicts=True))


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _version_write(key: ApiKey) -> None:
    """Publish the key's new version: entries cached at an older one are re-read on their next request.

    Written inside the caller's transaction (a Redis failure aborts the change). Should the commit itself
    then fail, the marker runs ahead of the row and the key's cached entry is refreshed from the row on
    each request (one query, no bcrypt) until the key's next change: slower, never wrong. No timeout,
    like the tombstones: it must outlive every entry cached before the change.
    """
    shared_set_many({version_cache_key(key.key_prefix): str(key.version)}, timeout=None)


@requires_shared_cache
def apikey_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    """Revoke a key (soft: the row stays for history). Refused from the next request on, on every process.

    The tombstone is written inside the transaction that marks the row revoked: if Redis is unreachable
    the revocation fails as a whole (503) instead of leaving a revoked row whose cached verification would
    still be honoured. The tombstone has no timeout (a revoked key never comes back), and it also defeats a
    verification that was in flight while we revoked and writes its stale "verified" entry afterwards.
    """
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=_user(actor)
        )
        if revoked:  # only the request that revoked it records the event: a repeat is a no-op
            ApiKeyEvent.objects.create(api_key_id=key.pk, kind=ApiKeyEvent.Kind.REVOKED, actor=_user(actor))
        _tombstones_write({key.key_prefix: BLOCKED_REVOKED})
    key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return key


@requires_shared_cache
def organization_keys_block(*, organization: Organization) -> None:
    """Refuse every key of a suspended organization from the next request on, on every process.

    Revoked keys keep their own tombstone. Call after the suspension is committed (keys created later are
    refused by the slow path, which checks the organization's status).
    """
    prefixes = organization.api_keys.filter(revoked_at__isnull=True).values_list("key_prefix", flat=True)
    _tombstones_write(dict.fromkeys(prefixes, BLOCKED_SUSPENDED))


@requires_shared_cache
def organization_keys_unblock(*, organization: Organization) -> None:
    """Lift the suspension block from the organization's keys that are not revoked."""
    prefixes = organization.api_keys.filter(revoked_at__isnull=True).values_list("key_prefix", flat=True)
    shared_delete_many([blocked_cache_key(p) for p in prefixes])


def organization_status_changed_receive(*, organization: Organization, status: str, **kwargs) -> None:
    """Block a suspended organization's keys, unblock a reactivated one's (sent after the commit)."""
    if status == Organization.Status.SUSPENDED:
        organization_keys_block(organization=organization)
    else:
        organization_keys_unblock(organization=organization)


@requires_shared_cache
def organization_keys_refresh(*, organization: Organization, **kwargs) -> None:
    """Make every key of the organization re-read its row on its next request (its pinned API version
    changed): each key's version goes up and its marker is published, as when the key itself changes. Sent
    after the commit; the marker outlives every entry cached before it (see _version_write)."""
    keys = ApiKey.objects.filter(organization=organization, revoked_at__isnull=True)
    keys.update(version=F("version") + 1)
    markers = {
        version_cache_key(prefix): str(version)
        for prefix, version in keys.values_list("key_prefix", "version")
    }
    if markers:
        shared_set_many(markers, timeout=None)


def _tombstones_write(reasons: dict[str, str]) -> None:
    shared_set_many({blocked_cache_key(p): reason for p, reason in reasons.items()}, timeout=None)
