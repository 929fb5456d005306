"""OpenAPI extras: the shared error body, documented on every operation, and the Idempotency-Key header;
the generated document itself for the docs catalogues, and its schemas as plain JSON Schema. The names SDK
generators read (operationIds, path parameters, enums) are api/schema_names.py's.

The committed copy (sdks/openapi.json) is regenerated with `.venv/bin/python manage.py api_contract --write`;
tests/config/test_schema_contract.py fails when it drifts from the code.
"""

import copy
import functools
import re

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from api import examples, versions
from api.idempotency import KEY_PATTERN


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
    "400": "ValidationError: the request is malformed, a field is invalid (see details) or the "
    "Garmax-Version header names no known version.",
    "401": "InvalidApiKey (partner endpoints); InvalidToken (a bad or expired JWT) or Unauthorized (none).",
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


_INTEGER_HEADER = {"schema": {"type": "integer"}}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {**_INTEGER_HEADER, "description": "Requests allowed per minute for this key."},
    "X-RateLimit-Remaining": {**_INTEGER_HEADER, "description": "Requests left in the current window."},
    "X-RateLimit-Reset": {**_INTEGER_HEADER, "description": "Unix time (seconds) when the window resets."},
}
RETRY_AFTER = {**_INTEGER_HEADER, "description": "Seconds to wait before retrying."}
REQUEST_ID = {"schema": {"type": "string"}, "description": "This request's id, also in error bodies."}
API_VERSION = {
    "schema": {"type": "string", "enum": list(versions.KNOWN)},
    "description": "The API version that answered: the request's Garmax-Version header, else the "
    "organization's pinned version, else the newest (/api/docs/changelog).",
}


NO_NUL = "^[^\\u0000]*$"


def _no_nul_characters(result) -> None:
    """DRF's CharField refuses NUL characters (PostgreSQL cannot store them): request strings say so."""

    def visit(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"enum", "format", "pattern"} & set(node):
                node["pattern"] = NO_NUL
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            visit(component)


def _nullable_references(node) -> None:
    """drf-spectacular writes a nullable nested object as {allOf: [$ref], nullable: true}; OpenAPI 3.0.3's
    nullable does not reach into allOf, so validators refuse the null the API sends. A oneOf with a null
    alternative (as drf-spectacular writes nullable choices) says what is meant."""
    if isinstance(node, dict):
        members = node.get("allOf")
        if node.get("nullable") and isinstance(members, list) and len(members) == 1 and "type" not in node:
            del node["allOf"], node["nullable"]
            node["oneOf"] = [members[0], {"enum": [None]}]
        for value in node.values():
            _nullable_references(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_references(value)


def _show(media: dict, example) -> None:
    """`example` is shown: alone if the operation has none, next to the view's own if it is seed 001's."""
    if "example" not in media and "examples" not in media:
        media["example"] = example
        return
    shown = [media["example"]] if "example" in media else [e.get("value") for e in media["examples"].values()]
    if example not in shown and examples.is_seed(example):
        if "example" in media:
            media["examples"] = {"Example": {"value": media.pop("example")}}
        media["examples"]["From the partner API reference"] = {"value": example}


def _headers_and_examples(result) -> None:
    """Every response declares the headers it carries; every body (request and response) has an example."""
    components = result.get("components", {}).get("schemas", {})
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            partner = {"ApiKeyAuth": []} in (operation.get("security") or [])
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "schema" in media:
                    _show(media, examples.request_example(method, path, media["schema"], components))
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")) and not response.get("content"):
                    # Every error has the seed's body, also where a view declared the status bare.
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    }
                    if response.get("description") in (None, "", "No response body"):
                        response["description"] = _ERROR_DESCRIPTIONS.get(status, "Error.")
                headers = response.setdefault("headers", {})
                headers.setdefault("X-Request-Id", REQUEST_ID)
                headers.setdefault(versions.HEADER, API_VERSION)
                if partner:
                    for name, header in RATE_LIMIT_HEADERS.items():
                        headers.setdefault(name, header)
                if status == "429":
                    headers.setdefault("Retry-After", RETRY_AFTER)
                for media in response.get("content", {}).values():
                    if "schema" not in media:
                        continue
                    if status.startswith("2"):
                        _show(media, examples.response_example(method, path, media["schema"], components))
                    elif "example" not in media and "examples" not in media:
                        media["examples"] = examples.error_examples(
                            status, method=method, path=path, partner=partner
                        )


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the error format, its response headers
    (X-Request-Id; X-RateLimit-* on API-key operations; Retry-After on 429) and examples; POSTs accept
    Idempotency-Key."""
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
                            "description": (
                                "Replays the first response for 24 h when the same key is reused with the "
                                "same request; the same key with another request is a 422. Use a new "
                                "unique value (e.g. a UUID) per operation."
                            ),
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 255,
                                "pattern": KEY_PATTERN,
                                "example": "5f0c6a1e-9b1e-4d7e-8a51-6f1f3c2b9d40",
                            },
                        }
                    )
    _no_nul_characters(result)
    _nullable_references(result)
    _headers_and_examples(result)
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
    _blank_alternatives(result)
    _cart_item_garment(result)
    return result


def _cart_item_garment(result) -> None:
    """A cart item names its garment by imageUrl and category, or by a catalogue garmentId (tryons.catalogue):
    one of the two is required, which a serializer's `required` flags cannot say."""
    item = result.get("components", {}).get("schemas", {}).get("CartItemRequest")
    if item is not None:
        item["anyOf"] = [{"required": ["imageUrl", "category"]}, {"required": ["garmentId"]}]


def _blank_alternatives(node) -> None:
    """drf-spectacular offers a blank string as a second `oneOf` member of every patterned field that allows
    blanks; where the pattern itself admits "" (api.text's rules), "" matches both and `oneOf` refuses
    the very value the API answers. `anyOf` says what is meant."""
    if isinstance(node, dict):
        members = node.get("oneOf")
        if (
            isinstance(members, list)
            and len(members) == 2
            and members[1] == {"type": "string", "maxLength": 0}
            and "pattern" in members[0]
            and re.search(members[0]["pattern"], "")
        ):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _blank_alternatives(value)
    elif isinstance(node, list):
        for value in node:
            _blank_alternatives(value)


@functools.cache
def openapi_document() -> dict:
    """The public OpenAPI document, generated once per process (it depends on code only, not on data)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def openapi_document_text() -> str:
    """The public document as committed in sdks/openapi.json: indented JSON, keys in generation order."""
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return OpenApiJsonRenderer().render(openapi_document(), renderer_context={"indent": 2}).decode() + "\n"


def json_schema(schema: dict, components: dict) -> dict:
    """An OpenAPI 3.0 schema as self-contained JSON Schema (2020-12): references inlined, `nullable`
    spelled as a "null" type, OpenAPI-only keywords dropped. Our components have no cycles."""

    def convert(node):
        if isinstance(node, list):
            return [convert(value) for value in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return convert(copy.deepcopy(components[node["$ref"].rsplit("/", 1)[1]]))
        out = {
            key: convert(value)
            for key, value in node.items()
            if key not in {"nullable", "readOnly", "writeOnly", "example", "discriminator"}
        }
        for bound in ("Minimum", "Maximum"):  # 3.0's boolean form → 2020-12's number form
            if out.get(f"exclusive{bound}") is True:
                out[f"exclusive{bound}"] = out.pop(bound.lower())
            elif out.get(f"exclusive{bound}") is False:
                del out[f"exclusive{bound}"]
        if node.get("nullable"):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            elif "enum" in out:
                out["enum"] = [*out["enum"], None]
            else:
                out = {"anyOf": [out, {"type": "null"}]}
        return out

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **convert(schema)}
