"""Partner `metadata`: a bounded JSON object, the same rules wherever a partner can attach one."""

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.parsers import json_refusal
from api.text import refused_character

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


def _refused_key(value) -> str | None:
    """The first key, at any depth, holding a character a short text may not hold (api.text)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if refused_character(key) is not None:
                return key
            found = _refused_key(item)
            if found is not None:
                return found
    if isinstance(value, list):
        for item in value:
            found = _refused_key(item)
            if found is not None:
                return found
    return None


def metadata_validate(value) -> dict:
    """Raise a field error unless `value` is an object of at most 50 keys and 8 KB, free of NUL characters
    and lone surrogates (PostgreSQL's jsonb cannot store them: they would otherwise surface as a 500 on
    insert), nested at most MAX_JSON_DEPTH deep, with keys that are short texts (api.text: no control
    or format characters; values are free text)."""
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
    key = _refused_key(value)
    if key is not None:
        character = refused_character(key)
        # The key is not repeated: it is what the rule refuses.
        raise serializers.ValidationError(
            f"Keys must not contain control or format characters (found U+{ord(character):04X} in a key)."
        )
    return value


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"orderId": "order_789"}})
class MetadataField(serializers.JSONField):
    """A JSON object of bounded size (not a list, string or number)."""

    def to_internal_value(self, data):
        return metadata_validate(super().to_internal_value(data))
