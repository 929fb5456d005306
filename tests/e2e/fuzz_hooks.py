"""schemathesis hooks for tests/e2e/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

Some valid values cannot come from a schema: a photo key must name a photo the organization uploaded, a
garment or webhook URL must reach a server (this machine has no internet), a photo must decode as an image
(and its metadata part be JSON text), an import needs a file in a known format, a key must expire in the
future, a webhook's custom header must be named as HTTP allows, and a deleted customer can be deleted only
once. Generated requests would stop at those checks and
never reach the code behind them, so `before_call` hands most of them real objects of the fuzzing organization
(E2E_FUZZ_DATA, written by the test) — as a partner's client would send — and leaves the rest as generated,
so the refusals are still exercised.

A partner also sends a new Idempotency-Key with every new request; the same key with another request is
rightly a 422 (IdempotencyKeyReused). schemathesis draws keys from a small space (its coverage phase repeats
boundary values such as "0"), so a key the documented pattern accepts is replaced by a fresh UUID; keys the
pattern refuses are sent as generated, so their 400 is exercised.
"""

import json
import os
import random
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import schemathesis
from hypothesis.internal import lambda_sources

from api.idempotency import KEY_PATTERN

_VALID_KEY = re.compile(KEY_PATTERN)
_DATA = json.loads(os.environ.get("E2E_FUZZ_DATA", "{}"))
_PHOTO = bytes.fromhex(_DATA.get("photo_jpeg_hex", ""))
_SPARE_CUSTOMERS = list(_DATA.get("spare_external_ids", []))
# Where every refusal (400/422) is written, so the test can say why an operation mostly refused its cases.
_REFUSALS = os.environ.get("E2E_FUZZ_REFUSALS")
_RANDOM = random.Random(int(os.environ.get("E2E_FUZZ_SEED", "7001")))
_LOCK = threading.Lock()
# Share of generated values replaced by a real object.
REAL = 0.8

# CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth mismatch" when two threads
# parse at once), and hypothesis parses lambda sources to name its strategies: with --workers 2 that
# crashed whole operations. One parse at a time.
_describe = lambda_sources.lambda_description


def _lambda_description(f):
    with _LOCK:
        return _describe(f)


lambda_sources.lambda_description = _lambda_description


def _real() -> bool:
    with _LOCK:
        return _RANDOM.random() < REAL


def _json_object(text) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError):
        return False


def _in_the_past(text) -> bool:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) <= datetime.now(UTC)
    except ValueError:
        return False


def _substitute_body(path: str, body, multipart: bool = False) -> None:
    # One draw per request: a cart of 20 items drawing per item would almost never be all real. A cart is
    # always given the organization's own photo and garments: with generated garment ids (a fifth of the
    # draws) nearly every valid cart would be a refusal, as 10 of 15 were in one run.
    if not isinstance(body, dict) or (path != "/api/v1/cart-tryons" and not _real()):
        return
    # An API key must expire in the future, which a schema cannot say.
    if path.endswith("/api-keys") and body.get("expiresAt") and _in_the_past(body["expiresAt"]):
        body["expiresAt"] = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # A photo's `metadata` part is a JSON object sent as text (multipart has no JSON type).
    if path.endswith("/photos") and "metadata" in body and not _json_object(body["metadata"]):
        body["metadata"] = json.dumps({"capturedAt": "2025-12-11T10:00:00Z"})
    if "customerPhotoS3Key" in body:
        body["customerPhotoS3Key"] = _DATA["photo_key"]
    if path == "/api/v1/tryons" and "imageUrl" in body:
        body["imageUrl"] = _DATA["garment_url"]
    if path == "/api/v1/cart-tryons" and isinstance(body.get("cartItems"), list):
        for item in body["cartItems"]:
            if isinstance(item, dict) and "garmentId" in item:
                item["garmentId"] = _DATA["garment_id"]
            if isinstance(item, dict) and "imageUrl" in item:
                item["imageUrl"] = _DATA["garment_url"]
        _cart_looks(body)
    if path.startswith("/api/v1/webhooks") and "url" in body:
        body["url"] = _DATA["webhook_url"]
    # A header name must be an HTTP token and none of ours, which OpenAPI 3.0 cannot say of an object's keys.
    if path.startswith("/api/v1/webhooks") and isinstance(body.get("headers"), dict):
        body["headers"] = {f"X-Fuzz-{n}": value for n, value in enumerate(body["headers"].values())}
    if path.endswith("/photos") and "photo" in body and _PHOTO:
        body["photo"] = _PHOTO
    # A customer or garment import: a file in one of the formats (multipart), or a URL the worker can reach
    # (JSON; this one serves an image, so that import ends `failed`, as a wrong file does), never both.
    imported = {"/api/v1/customers/imports": "import_csv", "/api/v1/garments/imports": "garments_csv"}
    if path in imported and _DATA.get(imported[path]):
        body.clear()
        if multipart:
            body.update(file=_DATA[imported[path]].encode(), format="csv")
        else:
            body.update(url=_DATA["garment_url"], format="csv")


def _cart_looks(body: dict) -> None:
    """Looks name the cart's own items, one per body zone, as a partner's do: a generated look names
    products the generated cart does not hold (the schema cannot tie the two); `renderItems: false` needs
    a look."""
    items = [item for item in body["cartItems"] if isinstance(item, dict)]
    items = [item for item in items if isinstance(item.get("productId"), str)]
    looks = body.get("looks")
    if body.get("renderItems") is False and not looks:
        body["renderItems"] = True
    if not (isinstance(looks, list) and looks and all(isinstance(look, dict) for look in looks)):
        return
    if len(items) < 2:
        del body["looks"]
        return
    top, bottom = items[0], items[1]
    top["category"], bottom["category"] = "tops", "bottoms"
    if (top["productId"], top.get("variantId")) == (bottom["productId"], bottom.get("variantId")):
        bottom["productId"] = f"{bottom['productId']}-bottom"[:255]
    # One look (two looks of one pair would be one look twice); its generated lookId is kept.
    body["looks"] = [{**looks[0], "items": [_look_item(top, items), _look_item(bottom, items)]}]


def _look_item(item: dict, items: list[dict]):
    """The item's productId, or {productId, variantId} where the cart holds the product more than once."""
    if sum(other["productId"] == item["productId"] for other in items) > 1 and item.get("variantId"):
        return {"productId": item["productId"], "variantId": item["variantId"]}
    return item["productId"]


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path = case.operation.path
    headers = case.headers or {}
    for name in list(headers):
        if (
            name.lower() == "idempotency-key"
            and isinstance(headers[name], str)
            and _VALID_KEY.match(headers[name])
        ):
            headers[name] = str(uuid.uuid4())
    # A date parameter's `format: date-time` is not applied to query strings by schemathesis's coverage
    # phase ("0000000000" passes minLength), so such values, drawn as valid, are put right like bodies are.
    query = case.query if isinstance(case.query, dict) else {}
    if any(name in query and not _in_the_past(query[name]) for name in ("from", "to")) and _real():
        now = datetime.now(UTC)
        if "from" in query:
            query["from"] = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if "to" in query:
            query["to"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if case.method.upper() in ("POST", "PATCH"):
        _substitute_body(path, case.body, multipart=(case.media_type or "").startswith("multipart/"))
    if case.method.upper() == "DELETE" and path == "/api/v1/customers/{externalId}":
        # Never the customer every other operation is bound to: once it is deleted, its photo goes with it and
        # every cart and try-on after that is a 400 (one CI run met exactly that when a run's DELETE cases
        # outnumbered the spares). Past the spares, a customer that does not exist: the 404 branch.
        with _LOCK:
            spare = _SPARE_CUSTOMERS.pop() if _SPARE_CUSTOMERS else f"fuzz-never-created-{uuid.uuid4().hex}"
        case.path_parameters["externalId"] = spare


@schemathesis.hook
def after_call(ctx, case, response):
    if _REFUSALS and response.status_code in (400, 422):
        try:
            details = response.json().get("details")
        except ValueError:
            details = response.text[:200]
        details = json.dumps(details, default=str)[:300]  # cut as text: the line stays JSON
        line = {"operation": f"{case.method.upper()} {case.operation.path}", "details": details}
        with _LOCK, open(_REFUSALS, "a") as out:
            out.write(json.dumps(line) + "\n")
