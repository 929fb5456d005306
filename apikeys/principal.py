"""Who is calling: the verified key as the hot path remembers it (one cache entry), parsed once per process.

The admission script (apikeys/admission.py) reads the entry's leading fields inside Redis: the key's limits
per minute, hour and day, its monthly quota, its expiry and its version.
"""

import functools
from dataclasses import dataclass

from apikeys.ratelimit import KeyWindows

# Thirteen fields; an entry of another shape predates this format and is verified again (from its row, without
# another bcrypt when its proof is still there).
ENTRY_SEPARATORS = 12


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Who is calling: the verified key, as remembered in the cache. Used as request.user and request.auth.

    `organization_id` is the organization whose data the key acts on: for a test key, the sandbox twin of
    its organization (organizations.services.organization_sandbox), which is what keeps the modes apart.
    """

    key_id: str
    key_prefix: str
    organization_id: str
    scopes: tuple[str, ...]
    rate_limit: int  # requests per minute
    expires_at: float | None  # unix seconds
    version: int = 1
    mode: str = "live"
    # Per-operation limits (requests per minute), e.g. (("cart-tryons:create", 10),).
    endpoint_limits: tuple[tuple[str, int], ...] = ()
    # The hour and day windows (0 = none) and the monthly quota (None = none).
    rate_limit_per_hour: int = 0
    rate_limit_per_day: int = 0
    monthly_quota: int | None = None
    # The organization's pinned API version (api/versions.py): carried with the key so that answering in it
    # costs no query; a change of the pin refreshes the organization's keys (apikeys.services).
    api_version: str = ""

    is_authenticated = True
    is_staff = False
    pk = None

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    @property
    def windows(self) -> KeyWindows:
        return KeyWindows(
            self.rate_limit, self.rate_limit_per_hour, self.rate_limit_per_day, self.monthly_quota
        )

    def endpoint_limit(self, operation: str) -> int | None:
        for name, limit in self.endpoint_limits:
            if name == operation:
                return limit
        return None

    def as_cache_entry(self) -> str:
        """`minute|hour|day|quota|expiresMs|version|keyId|keyPrefix|organizationId|scope,scope|mode|op=n;op=n|
        apiVersion` (one line): the admission script reads the first six fields inside Redis, so they lead;
        none of the fields can contain `|` (operation names are `resource:action`, checked when a key is
        created or changed; versions are dates)."""
        expires_ms = "" if self.expires_at is None else str(int(self.expires_at * 1000))
        return "|".join(
            [
                str(self.rate_limit),
                str(self.rate_limit_per_hour),
                str(self.rate_limit_per_day),
                "" if self.monthly_quota is None else str(self.monthly_quota),
                expires_ms,
                str(self.version),
                self.key_id,
                self.key_prefix,
                self.organization_id,
                ",".join(self.scopes),
                self.mode,
                ";".join(f"{name}={limit}" for name, limit in self.endpoint_limits),
                self.api_version,
            ]
        )

    @classmethod
    def from_cache_entry(cls, entry: str) -> "ApiKeyPrincipal":
        (
            minute,
            hour,
            day,
            quota,
            expires_ms,
            version,
            key_id,
            key_prefix,
            organization_id,
            scopes,
            mode,
            limits,
            api_version,
        ) = entry.split("|")
        return cls(
            key_id=key_id,
            key_prefix=key_prefix,
            organization_id=organization_id,
            scopes=tuple(scopes.split(",")) if scopes else (),
            rate_limit=int(minute),
            expires_at=int(expires_ms) / 1000 if expires_ms else None,
            version=int(version),
            mode=mode,
            endpoint_limits=tuple(
                (name, int(value)) for name, value in (item.split("=") for item in limits.split(";") if item)
            ),
            rate_limit_per_hour=int(hour),
            rate_limit_per_day=int(day),
            monthly_quota=int(quota) if quota else None,
            api_version=api_version,
        )


# An entry fully determines its principal, so each process parses a given entry once. Revocation and
# expiry do not depend on this: they are checked against Redis on every request.
principal_from_entry = functools.lru_cache(maxsize=4096)(ApiKeyPrincipal.from_cache_entry)
