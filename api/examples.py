"""Request and response examples for every operation of the OpenAPI document.

Seed 001 (the API reference partners follow) has examples for the main operations: they are used as they
are for requests, and laid over an example built from the schema for responses (the seed shows only some
fields of each answer). Every other operation gets an example built from its schema, with values taken
from the seed where a field of the same name appears there. tests/config/test_schema_examples.py
validates every example against its schema, so none can drift from what the API does.
"""

import copy
import re

# Values by field name, as seed 001 writes them: generated examples read like the seed's.
FIELD_VALUES = {
    "id": "obj_abc123",
    "organizationId": "org_abc123",
    "name": "Acme Fashion",
    "domain": "acmefashion.com",
    "billingEmail": "billing@acmefashion.com",
    "email": "john@example.com",
    "description": "Production webhook",
    "externalId": "customer_12345",
    "cartId": "cart_external_xyz",
    "sessionId": "cts_abc123",
    "tryonId": "tryon_abc123",
    "webhookId": "webhook_abc",
    "deliveryId": "dlv_abc123",
    "keyId": "key_xyz789",
    "keyPrefix": "gx_live_abc123",
    "productId": "prod_001",
    "variantId": "var_blue_m",
    "customerPhotoS3Key": "enterprise/org-123/photos/photo_abc.jpg",
    "photoS3Key": "enterprise/org-123/photos/photo_abc.jpg",
    "photoUrl": "https://s3.amazonaws.com/bucket/enterprise/org-123/photos/photo_abc.jpg",
    "resultUrl": "https://s3.amazonaws.com/bucket/results/result_001.jpg",
    "imageUrl": "https://shop.com/products/tshirt.jpg",
    "url": "https://shop.com/webhooks/garmaxai",
    "currency": "USD",
    "category": "tops",
    "backgroundScene": "studio",
    "renderQuality": "hd",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "key": "gx_live_abc123def456ghi789jkl012mno345pq",
    "username": "jane",
    "password": "correct horse battery staple",
    "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.access.signature",
    "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.refresh.signature",
    "message": "This is a test event from GarmaxAI.",
    "reference": "cts_abc123",
    "requestId": "req_0f8b1a2c3d4e5f60718293a4b5c6d7e8",
    "lookId": "look-1",
}

NUMBER_VALUES = {
    "credits": 100,
    "creditsRequired": 4,
    "creditsCharged": 4,
    "creditsRefunded": 0,
    "amount": 1000,
    "balanceAfter": 1100,
    "rateLimit": 120,
    "progress": 0,
    "itemRenders": 2,
    "lookRenders": 1,
    "perRender": 2,
    "discount": 0,
    "itemCount": 2,
    "quantity": 2,
    "price": 29.99,
    "total": 1,
    "limit": 20,
    "offset": 0,
}

_FORMATS = {
    "date-time": "2025-12-11T10:00:00Z",
    "date": "2025-12-11",
    "uri": "https://shop.com/products/tshirt.jpg",
    "email": "billing@acmefashion.com",
    "uuid": "5f0c6a1e-9b1e-4d7e-8a51-6f1f3c2b9d40",
    "decimal": "29.99",
}

_CART_ITEM = {
    "productId": "prod_001",
    "variantId": "var_blue_m",
    "name": "Blue Cotton T-Shirt",
    "imageUrl": "https://shop.com/products/tshirt.jpg",
    "category": "tops",
    "quantity": 2,
    "price": 29.99,
    "currency": "USD",
}

# (method, path) → the seed's request body and/or (partial) response body.
SEED = {
    ("post", "/api/organizations"): {
        "request": {
            "name": "Acme Fashion",
            "domain": "acmefashion.com",
            "billingEmail": "billing@acmefashion.com",
            "settings": {"webhookRetries": 3, "defaultRenderQuality": "hd"},
        },
        "response": {
            "id": "org_abc123",
            "name": "Acme Fashion",
            "credits": 100,
            "status": "active",
            "createdAt": "2025-12-11T10:00:00Z",
        },
    },
    ("patch", "/api/organizations/{organizationId}"): {
        "request": {"settings": {"defaultRenderQuality": "4k"}}
    },
    ("post", "/api/organizations/{organizationId}/credits"): {
        "request": {"amount": 1000, "description": "Monthly credit purchase"}
    },
    ("post", "/api/organizations/{organizationId}/api-keys"): {
        "request": {
            "name": "Production API Key",
            "scopes": ["tryon:create", "tryon:read", "photos:upload"],
            "rateLimit": 120,
            "expiresAt": "2026-12-11T00:00:00Z",
        },
        "response": {
            "id": "key_xyz789",
            "name": "Production API Key",
            "keyPrefix": "gx_live_abc123",
            "scopes": ["tryon:create", "tryon:read", "photos:upload"],
            "rateLimit": 120,
            "expiresAt": "2026-12-11T00:00:00Z",
            "createdAt": "2025-12-11T10:00:00Z",
        },
    },
    ("post", "/api/v1/customers"): {
        "request": {
            "externalId": "customer_12345",
            "email": "john@example.com",
            "name": "John Doe",
            "metadata": {"segment": "premium", "referralSource": "google"},
        },
        "response": {
            "id": "cust_internal_abc",
            "externalId": "customer_12345",
            "email": "john@example.com",
            "name": "John Doe",
            "photoUrl": None,
            "createdAt": "2025-12-11T10:00:00Z",
        },
    },
    ("post", "/api/v1/customers/{externalId}/photos"): {
        "response": {
            "photoUrl": "https://s3.amazonaws.com/bucket/enterprise/org-123/photos/photo_abc.jpg",
            "photoS3Key": "enterprise/org-123/photos/photo_abc.jpg",
            "uploadedAt": "2025-12-11T10:00:00Z",
        }
    },
    ("post", "/api/v1/cart-tryons"): {
        "request": {
            "cartId": "cart_external_xyz",
            "customerPhotoS3Key": "enterprise/org-123/photos/photo_abc.jpg",
            "cartItems": [
                _CART_ITEM,
                {
                    "productId": "prod_002",
                    "variantId": "var_black_32",
                    "name": "Black Jeans",
                    "imageUrl": "https://shop.com/products/jeans.jpg",
                    "category": "bottoms",
                    "quantity": 1,
                    "price": 79.99,
                    "currency": "USD",
                },
            ],
            "renderQuality": "hd",
            "backgroundScene": "studio",
            "metadata": {"orderId": "order_789", "sessionId": "web_session_456"},
        },
        "response": {
            "id": "cts_abc123",
            "cartId": "cart_external_xyz",
            "status": "queued",
            "progress": 0,
            "creditsRequired": 4,
            "creditsCharged": 4,
            "itemCount": 2,
            "estimatedCompletionTime": "2025-12-11T10:05:00Z",
            "createdAt": "2025-12-11T10:00:00Z",
        },
    },
    ("get", "/api/v1/cart-tryons/{sessionId}"): {
        "response": {
            "id": "cts_abc123",
            "status": "completed",
            "progress": 100,
            "completedAt": "2025-12-11T10:04:32Z",
        }
    },
    ("post", "/api/v1/webhooks"): {
        "request": {
            "url": "https://shop.com/webhooks/garmaxai",
            "events": ["cart_tryon.completed", "cart_tryon.failed"],
            "description": "Production webhook",
        },
        "response": {
            "id": "webhook_abc",
            "url": "https://shop.com/webhooks/garmaxai",
            "events": ["cart_tryon.completed", "cart_tryon.failed"],
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "isActive": True,
            "createdAt": "2025-12-11T10:00:00Z",
        },
    },
    ("patch", "/api/v1/webhooks/{webhookId}"): {
        "request": {
            "events": ["cart_tryon.completed", "cart_tryon.partial", "cart_tryon.failed"],
            "isActive": True,
        }
    },
}

ERROR_NAMES = {
    "400": ("ValidationError", "Request data is invalid.", {"cartItems": ["This field is required."]}),
    "401": ("InvalidApiKey", "API key is invalid or expired.", {}),
    "403": (
        "InvalidScope",
        "API key does not have the 'tryon:create' scope required for this operation.",
        {},
    ),
    "404": ("ResourceNotFound", "Cart try-on session not found.", {"sessionId": "cts_abc123"}),
    "405": ("MethodNotAllowed", 'Method "PUT" not allowed.', {}),
    "409": ("Conflict", "A request with this Idempotency-Key is still being processed; retry shortly.", {}),
    "413": ("PayloadTooLarge", "The body is too large.", {}),
    "422": ("IdempotencyKeyReused", "This Idempotency-Key was used with a different request.", {}),
    "429": ("RateLimitExceeded", "Rate limit of 60 requests per minute exceeded.", {"retryAfter": 12}),
    "500": ("InternalError", "Something went wrong on our side; it has been logged.", {}),
}


# What a missing path parameter's object is called in a 404's message (else its name without "Id").
NOT_FOUND_NOUNS = {
    "sessionId": "Cart try-on session",
    "externalId": "Customer",
    "tryonId": "Try-on",
    "keyId": "API key",
    "userId": "Member",
    "requestId": "Request log entry",
    "token": "Invitation",
}
# Operations that charge credits: their 403 is shown as InsufficientCredits first.
CHARGING_OPERATIONS = {("post", "/api/v1/cart-tryons"), ("post", "/api/v1/tryons")}
_INSUFFICIENT_CREDITS = (
    "InsufficientCredits",
    "Organization has insufficient credits. Required: 4, Available: 1",
    {"required": 4, "available": 1, "organizationId": "org_abc123"},
)
_FORBIDDEN = ("Forbidden", "You do not have permission to perform this action.", {})
_INVALID_TOKEN = ("InvalidToken", "Given token not valid for any token type", {})


def _body(status: str, name: str, message: str, details: dict) -> dict:
    return {
        "error": name,
        "message": message,
        "code": int(status),
        "details": details,
        "requestId": FIELD_VALUES["requestId"],
    }


def _not_found(path: str) -> tuple[str, str, dict]:
    """The 404 of the innermost object the path names, or the unmatched path's for a path naming none."""
    parameters = re.findall(r"\{(\w+)\}", path)
    if not parameters:
        return "ResourceNotFound", "No endpoint matches this path.", {}
    name = parameters[-1]
    noun = NOT_FOUND_NOUNS.get(name) or re.sub(r"Id$", "", name).capitalize()
    value = FIELD_VALUES.get(name, "obj_abc123")
    return "ResourceNotFound", f"{noun} not found.", {name: value}


def error_examples(status: str, *, method: str, path: str, partner: bool) -> dict:
    """The error examples of one operation's `status`, by name: each as that operation would answer it."""
    shown = [ERROR_NAMES.get(status, ("Error", "The request failed.", {}))]
    if status == "404":
        shown = [_not_found(path)]
    elif status == "403" and not partner:
        shown = [_FORBIDDEN]
    elif status == "403" and (method, path) in CHARGING_OPERATIONS:
        shown = [_INSUFFICIENT_CREDITS, *shown]
    elif status == "401" and not partner:
        shown = [_INVALID_TOKEN]
    return {name: {"value": _body(status, name, message, details)} for name, message, details in shown}


def build(schema: dict, components: dict, name: str | None = None, depth: int = 0):
    """An example value that `schema` accepts, preferring the seed's values for known field names."""
    if "$ref" in schema:
        return build(components[schema["$ref"].rsplit("/", 1)[1]], components, name, depth)
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if schema.get("nullable") and not {"allOf", "oneOf", "anyOf"} & set(schema):
        # What a fresh object shows; the seed's examples fill in the rest. (With allOf, validators disagree
        # on whether null passes, so the object is shown.)
        return None
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema:
            choices = [c for c in schema[combinator] if _resolve(c, components).get("enum") != [None]]
            return build((choices or schema[combinator])[0], components, name, depth)
    if "enum" in schema:
        values = [value for value in schema["enum"] if value is not None]
        preferred = FIELD_VALUES.get(name)
        return preferred if preferred in values else (values[0] if values else None)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 8:
            return {}
        return {
            key: build(sub, components, key, depth + 1) for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        item = build(schema.get("items", {}), components, _singular(name), depth + 1)
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "string":
        return _string(schema, name)
    if kind in ("integer", "number"):
        return _number(schema, name, kind)
    if kind == "boolean":
        return True
    return FIELD_VALUES.get(name, {}) if kind is None else None


def _number(schema: dict, name: str | None, kind: str):
    value = NUMBER_VALUES.get(name, 1)
    low, high = schema.get("minimum"), schema.get("maximum")
    step = 1 if kind == "integer" else 0.01
    if low is not None and (value < low or (value == low and schema.get("exclusiveMinimum"))):
        value = low + step if schema.get("exclusiveMinimum") else low
    if high is not None and (value > high or (value == high and schema.get("exclusiveMaximum"))):
        value = high - step if schema.get("exclusiveMaximum") else high
    return int(value) if kind == "integer" else value


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _singular(name: str | None) -> str | None:
    if name == "cartItems":
        return "cartItem"
    return name[:-1] if name and name.endswith("s") else name


def _string(schema: dict, name: str | None) -> str:
    if schema.get("format") == "binary":
        return "<binary data>"
    value = FIELD_VALUES.get(name) or _FORMATS.get(schema.get("format", ""), "string")
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    if high is not None and len(value) > high:
        value = value[:high]
    return value


def is_seed(example) -> bool:
    """Whether `example` is (or is laid over) one of seed 001's."""
    return any(
        example == seed.get("request")
        or (
            isinstance(example, dict) and seed.get("response") and seed["response"].items() <= example.items()
        )
        for seed in SEED.values()
    )


def response_example(method: str, path: str, schema: dict, components: dict):
    """The response example: built from the schema, with the seed's answer laid over it."""
    generated = build(schema, components)
    seed = SEED.get((method, path), {}).get("response")
    return _overlay(generated, seed) if seed is not None else generated


def request_example(method: str, path: str, schema: dict, components: dict):
    seed = SEED.get((method, path), {}).get("request")
    return copy.deepcopy(seed) if seed is not None else build(schema, components)


def _overlay(base, seed):
    if isinstance(base, dict) and isinstance(seed, dict):
        merged = dict(base)
        for key, value in seed.items():
            merged[key] = _overlay(base.get(key), value) if key in base else value
        return merged
    return copy.deepcopy(seed)
