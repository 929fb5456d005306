"""Partner `metadata`: a bounded JSON object, the same rules wherever a partner can attach one."""

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.parsers import json_refusal

METADATA_MAX_BYTES = 8 * 1024
METADATA_MAX_KEYS = 50


def metadata_too_large(value) -> bool:
    """The size rule, wherever metadata is stored: at most METADATA_MAX_BYTES as compact JSON."""
    return len(json.dumps(value, separators=(",", ":"))) > METADATA_MAX_BYTES


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def metadata_validate(value) -> dict:
    """Raise a field error unless `value` is an object of at most 50 keys and 8 KB, free of NUL characters
    and lone surrogates (PostgreSQL's jsonb cannot store them: they would otherwise surface as a 500 on
    insert), nested at most MAX_JSON_DEPTH deep."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("Must be a JSON object.")
    problem = json_refusal(value)  # first: json.dumps below recurses
    if problem:
        raise serializers.ValidationError(f"Invalid: {problem}")
    if len(value) > METADATA_MAX_KEYS:
        raise serializers.ValidationError(f"At most {METADATA_MAX_KEYS} keys.")
    if metadata_too_large(value):
        raise serializers.ValidationError(f"Must be at most {METADATA_MAX_BYTES} bytes when serialized.")
    if _contains_nul(value):
        raise serializers.ValidationError("Must not contain NUL characters.")
    return value


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"orderId": "order_789"}})
class MetadataField(serializers.JSONField):
    """A JSON object of bounded size (not a list, string or number)."""

    def to_internal_value(self, data):
        return metadata_validate(super().to_internal_value(data))
