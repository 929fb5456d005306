"""OpenAPI extras: the shared error body, documented on every operation, and the Idempotency-Key header."""

import re

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="Error name, e.g. InsufficientCredits, InvalidApiKey.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    code = serializers.IntegerField(help_text="HTTP status code, repeated in the body.")
    details = serializers.DictField(help_text="Specifics: per-field messages for ValidationError, etc.")
    requestId = serializers.CharField(required=False, help_text="Same value as the X-Request-Id header.")


ERROR_EXAMPLE = OpenApiExample(
    "InsufficientCredits",
    value={
        "error": "InsufficientCredits",
        "message": "Organization has insufficient credits. Required: 10, Available: 5",
        "code": 403,
        "details": {"required": 10, "available": 5, "organizationId": "org_abc123"},
    },
)

_ERROR_DESCRIPTIONS = {
    "400": "ValidationError: the request is malformed or a field is invalid (see details).",
    "401": "InvalidApiKey (partner endpoints) or Unauthorized (JWT endpoints).",
    "403": "InvalidScope, InsufficientCredits or Forbidden.",
    "404": "ResourceNotFound: it does not exist or belongs to another organization.",
    "405": "MethodNotAllowed.",
    "409": "Conflict: a request with the same Idempotency-Key is in flight, or a state conflict.",
    "422": "IdempotencyKeyReused: the Idempotency-Key was used with a different body.",
    "429": "RateLimitExceeded: retry after the Retry-After header's seconds.",
    "500": "InternalError.",
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "code", "details"],
    "properties": {
        "error": {"type": "string", "example": "ResourceNotFound"},
        "message": {"type": "string"},
        "code": {"type": "integer", "example": 404},
        "details": {"type": "object", "additionalProperties": True},
        "requestId": {"type": "string"},
    },
}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the error format; POSTs accept Idempotency-Key."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", _ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            wanted = ["400", "404", "405", "500"]
            if (
                operation.get("security") != [{}]
                and operation.get("security") is not None
                or path.startswith("/api/v1")
            ):
                wanted += ["401", "403"]
            if path.startswith("/api/v1") or path.startswith("/api/auth"):
                wanted.append("429")
            if method == "post":
                wanted += ["409", "422"]
            for status in wanted:
                responses.setdefault(
                    status,
                    {
                        "description": _ERROR_DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Replays the first response for 24 h when the same key is reused.",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        }
                    )
    return result


def _valid_values(node) -> None:
    if isinstance(node, dict):
        pattern = node.get("pattern")
        for keyword in ("default", "example"):
            value = node.get(keyword)
            if isinstance(pattern, str) and isinstance(value, str) and not re.search(pattern, value):
                # A blank-allowed RegexField: `default: ""` under `pattern: ^[A-Z]{3}$`. The blank
                # alternative is still documented next to it (oneOf); the default is simply left out.
                del node[keyword]
        for value in node.values():
            _valid_values(value)
    elif isinstance(node, list):
        for value in node:
            _valid_values(value)


def valid_values(result, generator, request, public):
    """Postprocessing hook: no default or example that its own `pattern` refuses (invalid OpenAPI 3).

    openapi-spec-validator checks the whole document in tests/config/test_schema.py, so CI catches the
    next thing drf-spectacular writes that OpenAPI refuses.
    """
    _valid_values(result)
    return result
