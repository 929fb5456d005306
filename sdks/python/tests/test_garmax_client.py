"""The client against a scripted API on loopback: headers, resources, typed errors, retries, lists, waits."""

import json
import uuid

import pytest
from garmax_fake_api import Answer

import garmax

SESSION = {"id": "cts_1", "status": "queued", "progress": 0}


def test_mode_is_read_from_the_key():
    assert garmax.Garmax(api_key="gx_live_" + "x" * 32).mode == "live"
    test_client = garmax.Garmax(api_key="gx_test_" + "x" * 32)
    assert (test_client.mode, test_client.livemode) == ("test", False)
    assert test_client.base_url == "https://api.garmaxai.com/api"


@pytest.mark.parametrize("key", ["", "sk_live_abc", "gx_live_", "gx_prod_abcdef"])
def test_a_key_that_is_not_ours_is_refused_before_any_request(key):
    with pytest.raises(ValueError, match="gx_live_"):
        garmax.Garmax(api_key=key)


def test_every_request_carries_the_key_and_the_pinned_version(fake_api):
    client = garmax.Garmax(api_key="gx_live_" + "k" * 32, base_url=fake_api.base_url, version="2025-12-11")
    fake_api.queue((200, {"id": "org_1", "livemode": True}))
    assert client.account.retrieve()["id"] == "org_1"
    [request] = fake_api.requests
    assert (request.method, request.path) == ("GET", "/api/v1/account")
    assert request.headers["x-api-key"] == "gx_live_" + "k" * 32
    assert request.headers["garmax-version"] == "2025-12-11"
    assert request.headers["user-agent"].startswith("garmax-python/")
    assert "idempotency-key" not in request.headers  # GETs need none


def test_every_post_gets_an_idempotency_key_kept_across_its_retries(client, fake_api):
    fake_api.queue(
        Answer(drop=True), (502, {"error": "BadGateway", "message": "", "code": 502}), (201, {"id": "c"})
    )
    assert client.customers.upsert("customer_1", email="jo@example.com", name="Jo") == {"id": "c"}
    assert len(fake_api.requests) == 3
    keys = {request.headers["idempotency-key"] for request in fake_api.requests}
    assert len(keys) == 1 and uuid.UUID(keys.pop())
    assert fake_api.requests[0].json() == {
        "externalId": "customer_1",
        "email": "jo@example.com",
        "name": "Jo",
    }
    assert len(client.slept) == 2 and all(0 < delay <= 8 for delay in client.slept)


def test_a_caller_idempotency_key_is_sent_as_given(client, fake_api):
    fake_api.queue((200, SESSION))
    client.cart_tryons.create(
        cart_id="cart_1",
        customer_photo_s3_key="k",
        cart_items=[{"productId": "p"}],
        idempotency_key="order-42",
    )
    [request] = fake_api.requests
    assert request.headers["idempotency-key"] == "order-42"
    assert request.json() == {
        "cartId": "cart_1",
        "customerPhotoS3Key": "k",
        "cartItems": [{"productId": "p"}],
    }


def test_429_waits_as_long_as_retry_after_says(client, fake_api):
    limited = {"error": "RateLimitExceeded", "message": "slow down", "code": 429, "details": {}}
    fake_api.queue(Answer(429, limited, {"Retry-After": "3"}), (200, SESSION))
    assert client.cart_tryons.retrieve("cts_1")["id"] == "cts_1"
    assert client.slept == [3.0]


def test_409_in_flight_is_retried_but_another_conflict_is_raised(client, fake_api):
    in_flight = {
        "error": "Conflict",
        "message": "still processing",
        "code": 409,
        "details": {"idempotencyKey": "x"},
    }
    fake_api.queue((409, in_flight), (200, {**SESSION, "status": "cancelled"}))
    assert client.cart_tryons.cancel("cts_1")["status"] == "cancelled"
    final = {
        "error": "Conflict",
        "message": "already completed",
        "code": 409,
        "details": {"status": "completed"},
    }
    fake_api.queue((409, final))
    with pytest.raises(garmax.ConflictError) as raised:
        client.cart_tryons.cancel("cts_1")
    assert raised.value.details == {"status": "completed"}
    assert len(fake_api.requests) == 3


def test_retries_are_bounded_and_the_last_error_is_raised(client, fake_api):
    failure = {"error": "ServiceUnavailable", "message": "down", "code": 503, "details": {}}
    fake_api.queue(*[(503, failure)] * 4)
    with pytest.raises(garmax.ServerError) as raised:
        client.customers.retrieve("customer_1")
    assert raised.value.code == 503 and len(fake_api.requests) == 4
    assert len(client.slept) == 3 and client.slept[-1] <= 8


def test_network_errors_past_the_retries_raise_a_connection_error(client, fake_api):
    fake_api.queue(*[Answer(drop=True)] * 4)
    with pytest.raises(garmax.APIConnectionError):
        client.account.retrieve()
    assert len(fake_api.requests) == 4


def test_errors_are_typed_and_carry_the_body_and_request_id(client, fake_api):
    body = {
        "error": "InsufficientCredits",
        "message": "Required: 10, Available: 5",
        "code": 403,
        "details": {"required": 10, "available": 5},
        "requestId": "req_abc",
    }
    fake_api.queue((403, body))
    with pytest.raises(garmax.InsufficientCreditsError) as raised:
        client.cart_tryons.create(cart_id="c", customer_photo_s3_key="k", cart_items=[])
    error = raised.value
    assert (error.error, error.message, error.code, error.request_id) == (
        "InsufficientCredits",
        "Required: 10, Available: 5",
        403,
        "req_abc",
    )
    assert error.details == {"required": 10, "available": 5} and error.requestId == "req_abc"
    assert len(fake_api.requests) == 1  # a 403 is never retried


@pytest.mark.parametrize(
    ("status", "name", "cls"),
    [
        (401, "InvalidApiKey", garmax.AuthenticationError),
        (403, "InvalidScope", garmax.PermissionDeniedError),
        (404, "ResourceNotFound", garmax.NotFoundError),
        (400, "ValidationError", garmax.ValidationError),
        (422, "IdempotencyKeyReused", garmax.IdempotencyError),
    ],
)
def test_each_error_name_has_its_exception(client, fake_api, status, name, cls):
    fake_api.queue((status, {"error": name, "message": "m", "code": status, "details": {"f": ["bad"]}}))
    with pytest.raises(cls) as raised:
        client.customers.retrieve("nobody")
    assert raised.value.error == name and raised.value.details == {"f": ["bad"]}
    assert raised.value.request_id == "req_1"  # from X-Request-Id when the body has none


def test_an_answer_not_in_our_format_is_still_a_typed_error(client, fake_api):
    client._transport.max_retries = 0
    fake_api.queue((502, b"<html>bad gateway</html>"))
    with pytest.raises(garmax.ServerError) as raised:
        client.account.retrieve()
    assert raised.value.code == 502 and "bad gateway" in raised.value.message


def test_lists_iterate_every_page_by_cursor(client, fake_api):
    fake_api.queue(
        (200, {"data": [{"id": "cts_3"}, {"id": "cts_2"}], "hasMore": True}),
        (200, {"data": [{"id": "cts_1"}], "hasMore": False}),
    )
    ids = [
        session["id"] for session in client.cart_tryons.list(cart_id="cart_9", status="completed", limit=2)
    ]
    assert ids == ["cts_3", "cts_2", "cts_1"]
    first, second = fake_api.requests
    assert first.path == "/api/v1/cart-tryons?cartId=cart_9&status=completed&limit=2"
    assert second.path == "/api/v1/cart-tryons?cartId=cart_9&status=completed&limit=2&startingAfter=cts_2"


def test_a_list_fetches_pages_only_as_they_are_read(client, fake_api):
    fake_api.queue((200, {"data": [{"id": "cust_1"}], "hasMore": True}))
    assert client.customers.list(limit=1).to_list(max_items=1) == [{"id": "cust_1"}]
    assert len(fake_api.requests) == 1


def test_photo_upload_sends_the_file_as_multipart(client, fake_api, tmp_path):
    photo = tmp_path / "me.jpg"
    photo.write_bytes(b"\xff\xd8jpeg-bytes")
    fake_api.queue(Answer(drop=True), (200, {"photoS3Key": "enterprise/org-1/photos/photo_1.jpg"}))
    answer = client.photos.upload("customer 1", photo, metadata={"capturedAt": "2025-12-11T10:00:00Z"})
    assert answer["photoS3Key"].endswith(".jpg")
    first, retry = fake_api.requests
    assert first.path == "/api/v1/customers/customer%201/photos"
    assert first.body == retry.body  # the retry sends the very same bytes, under the same key
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
    assert first.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert (
        b'name="photo"; filename="me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8jpeg-bytes' in first.body
    )
    assert b'name="metadata"\r\n\r\n{"capturedAt": "2025-12-11T10:00:00Z"}' in first.body


@pytest.mark.parametrize("terminal", ["completed", "partial", "failed", "cancelled"])
def test_wait_stops_on_every_terminal_status(client, fake_api, terminal):
    fake_api.queue(
        (200, SESSION), (200, {**SESSION, "status": "processing"}), (200, {**SESSION, "status": terminal})
    )
    assert client.cart_tryons.wait("cts_1", timeout=60)["status"] == terminal
    assert len(fake_api.requests) == 3 and client.slept == [1.0, 1.0]


def test_wait_gives_up_after_its_timeout_with_the_last_state(client, fake_api):
    fake_api.queue((200, {**SESSION, "status": "processing"}))
    with pytest.raises(garmax.WaitTimeout) as raised:
        client.cart_tryons.wait("cts_1", timeout=0)
    assert raised.value.last["status"] == "processing"


def test_single_tryon_wait_stops_on_skipped_too(client, fake_api):
    fake_api.queue((200, {"id": "tryon_1", "status": "skipped"}))
    assert client.tryons.wait("tryon_1")["status"] == "skipped"
    assert {"completed", "failed", "cancelled", "skipped"} <= garmax.TRYON_TERMINAL_STATUSES


def test_webhook_resources_use_the_api_paths(client, fake_api):
    fake_api.queue(
        (201, {"id": "webhook_1", "secret": "whsec_x"}),
        (200, {"id": "webhook_1", "secret": "whsec_y"}),
        (200, {"data": [{"id": "dlv_1"}], "hasMore": False}),
    )
    client.webhooks.create(url="https://shop.example/hook", events=["cart_tryon.completed"])
    client.webhooks.rotate_secret("webhook_1")
    assert [d["id"] for d in client.webhooks.deliveries("webhook_1", status="failed")] == ["dlv_1"]
    assert [(r.method, r.path) for r in fake_api.requests] == [
        ("POST", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks/webhook_1/rotate-secret"),
        ("GET", "/api/v1/webhooks/webhook_1/deliveries?status=failed"),
    ]
    assert json.loads(fake_api.requests[0].body)["events"] == ["cart_tryon.completed"]
