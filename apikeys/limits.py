"""What a key's limits may be: requests per minute, hour and day, a monthly quota, per-operation limits.

Checked by the services that create and change keys (and by the admin's form through them); each error is a
400 ValidationError naming the field.
"""

from django.conf import settings

from api.errors import ValidationError
from apikeys.catalogue import partner_operations


def validate_rate_limit(rate_limit, field: str = "rateLimit") -> int | None:
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int):
        raise ValidationError(details={field: ["Must be an integer."]})
    if not 1 <= rate_limit <= settings.API_KEY_MAX_RATE_LIMIT:
        raise ValidationError(details={field: [f"Must be between 1 and {settings.API_KEY_MAX_RATE_LIMIT}."]})
    return rate_limit


# Each window's ceiling, from the per-minute one; the quota is a PostgreSQL bigint's worth of requests.
WINDOW_MAX_FACTORS = {"rateLimitPerHour": 60, "rateLimitPerDay": 1440}
MONTHLY_QUOTA_MAX = 10**12


def validate_window_limit(value, field: str) -> int | None:
    """`rateLimitPerHour`, `rateLimitPerDay` (null = the default) or `monthlyQuota` (null = none)."""
    if value is None:
        return None
    maximum = (
        MONTHLY_QUOTA_MAX
        if field == "monthlyQuota"
        else settings.API_KEY_MAX_RATE_LIMIT * WINDOW_MAX_FACTORS[field]
    )
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError(details={field: [f"Must be an integer between 1 and {maximum}."]})
    return value


def validate_endpoint_limits(limits) -> dict[str, int]:
    """`{"cart-tryons:create": 10}`: requests per minute for partner operations (apikeys/operations.py)."""
    if limits is None:
        return {}
    if not isinstance(limits, dict):
        raise ValidationError(
            details={"endpointLimits": ["Must be an object of operation: requests per minute."]}
        )
    known = partner_operations()
    errors = {}
    for operation, limit in limits.items():
        if operation not in known:
            errors[f"endpointLimits.{operation}"] = [
                f"Unknown operation. Known operations: {', '.join(sorted(known))}."
            ]
            continue
        try:
            validate_rate_limit(limit, field="limit")
        except ValidationError as exc:
            errors[f"endpointLimits.{operation}"] = exc.details["limit"]
    if errors:
        raise ValidationError(details=errors)
    return dict(sorted(limits.items()))
