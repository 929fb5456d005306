"""API keys: creation (the secret is shown once), revocation, and blocking a suspended organization's keys.

Revocation and suspension write tombstones that the hot path (apikeys/admission.py) checks on every
request, so a revoked or blocked key fails on the very next request on every process.
"""

import secrets
from datetime import datetime

import bcrypt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

# Request admission lives in apikeys/admission.py; its public names stay importable from here.
from apikeys.admission import (
    BCRYPT_ROUNDS,
    BLOCKED_REVOKED,
    BLOCKED_SUSPENDED,
    KEY_ALPHABET,
    KEY_PATTERN,
    KEY_PREFIX,
    LOOKUP_LENGTH,
    SECRET_LENGTH,
    ApiKeyPrincipal,
    apikey_admit,
    apikey_authenticate,
    blocked_cache_key,
    verified_cache_key,
)
from apikeys.models import ApiKey
from apikeys.scopes import SCOPES
from config.errors import ValidationError
from config.shared_cache import requires_shared_cache, shared_delete_many, shared_set_many
from organizations.models import Organization

__all__ = [
    "KEY_PATTERN",
    "KEY_PREFIX",
    "LOOKUP_LENGTH",
    "SECRET_LENGTH",
    "ApiKeyPrincipal",
    "verified_cache_key",
    "apikey_admit",
    "apikey_authenticate",
    "apikey_create",
    "apikey_revoke",
    "organization_keys_block",
    "organization_keys_unblock",
    "organization_status_changed_receive",
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


def apikey_create(
    *,
    organization: Organization,
    name: str,
    scopes: list[str],
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret, which is never stored and never shown again."""
    scopes = validate_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(details={"expiresAt": ["Must be in the future."]})
    if rate_limit is not None and not 1 <= rate_limit <= settings.API_KEY_MAX_RATE_LIMIT:
        raise ValidationError(
            details={"rateLimit": [f"Must be between 1 and {settings.API_KEY_MAX_RATE_LIMIT}."]}
        )
    for _ in range(5):
        raw_key = KEY_PREFIX + _random(LOOKUP_LENGTH) + _random(SECRET_LENGTH)
        key_hash = bcrypt.hashpw(raw_key.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    organization=organization,
                    name=name,
                    key_prefix=raw_key[: len(KEY_PREFIX) + LOOKUP_LENGTH],
                    key_hash=key_hash,
                    scopes=scopes,
                    rate_limit=rate_limit,
                    expires_at=expires_at,
                    created_by=created_by if getattr(created_by, "pk", None) else None,
                )
        except IntegrityError:
            continue  # 62^8 prefixes: a collision is rare, and the unique index turns it into a retry
        return key, raw_key
    raise RuntimeError("could not allocate a unique API key prefix")


@requires_shared_cache
def apikey_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    """Revoke a key (soft: the row stays for history). Refused from the next request on, on every process.

    The tombstone is written inside the transaction that marks the row revoked: if Redis is unreachable
    the revocation fails as a whole (503) instead of leaving a revoked row whose cached verification would
    still be honoured. The tombstone has no timeout (a revoked key never comes back), and it also defeats a
    verification that was in flight while we revoked and writes its stale "verified" entry afterwards.
    """
    with transaction.atomic():
        if key.revoked_at is None:
            ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now(), revoked_by=actor if getattr(actor, "pk", None) else None
            )
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


def _tombstones_write(reasons: dict[str, str]) -> None:
    shared_set_many({blocked_cache_key(p): reason for p, reason in reasons.items()}, timeout=None)
