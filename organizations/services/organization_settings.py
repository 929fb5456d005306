"""An organization's settings (webhookRetries, defaultRenderQuality, lowBalanceThreshold, reusedRenderPrice):
merged and validated."""

from decimal import Decimal, InvalidOperation

from api.errors import ValidationError
from organizations.models import CENT, DEFAULT_ORGANIZATION_SETTINGS, credits_number, render_qualities


def organization_settings_clean(raw: dict | None, *, base: dict | None = None) -> dict:
    """Merge partner-supplied settings over `base`, validating the keys we know about."""
    merged = dict(base if base is not None else DEFAULT_ORGANIZATION_SETTINGS)
    if raw is None:
        return merged
    if not isinstance(raw, dict):
        raise ValidationError(details={"settings": ["Must be an object."]})
    errors = {}
    unknown = sorted(set(raw) - set(DEFAULT_ORGANIZATION_SETTINGS))
    if unknown:
        errors["settings"] = [f"Unknown setting(s): {', '.join(unknown)}."]
    if "webhookRetries" in raw:
        retries = raw["webhookRetries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            errors["settings.webhookRetries"] = ["Must be an integer from 0 to 10."]
    if "defaultRenderQuality" in raw and raw["defaultRenderQuality"] not in render_qualities():
        errors["settings.defaultRenderQuality"] = [f"Must be one of {', '.join(render_qualities())}."]
    raw = dict(raw)
    if "lowBalanceThreshold" in raw:
        threshold = _credits_clean(raw["lowBalanceThreshold"], LOW_BALANCE_THRESHOLD_MAX)
        if threshold is None:
            errors["settings.lowBalanceThreshold"] = [
                f"Must be a number of credits from 0 to {LOW_BALANCE_THRESHOLD_MAX}, with at most 2 decimals."
            ]
        else:
            raw["lowBalanceThreshold"] = credits_number(threshold)
    if "reusedRenderPrice" in raw:
        share = _credits_clean(raw["reusedRenderPrice"], 1)
        if share is None:
            errors["settings.reusedRenderPrice"] = ["Must be a number from 0 to 1, with at most 2 decimals."]
        else:
            raw["reusedRenderPrice"] = credits_number(share)
    if errors:
        raise ValidationError(details=errors)
    merged.update(raw)
    return merged


LOW_BALANCE_THRESHOLD_MAX = 1_000_000


def _credits_clean(value, maximum) -> Decimal | None:
    """`value` as a Decimal of at most 2 decimals from 0 to `maximum`, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        threshold = Decimal(repr(value) if isinstance(value, float) else value)
    except (InvalidOperation, ValueError):
        return None
    if not threshold.is_finite() or threshold != threshold.quantize(CENT) or threshold < 0:
        return None
    return threshold if threshold <= maximum else None
