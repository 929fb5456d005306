import hashlib

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.idempotency import KEY_PATTERN
from organizations.models import Organization

pytestmark = pytest.mark.django_db


def create(client, key, name="Acme Fashion"):
    return client.post("/api/organizations", {"name": name}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_repeated_key_replays_the_first_response_without_doing_the_work_again(owner, jwt_client):
    client = jwt_client(owner)
    first = create(client, "order-1")
    second = create(client, "order-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Organization.objects.count() == 1


def test_the_same_key_with_a_different_body_is_refused(owner, jwt_client):
    client = jwt_client(owner)
    create(client, "order-2")
    response = create(client, "order-2", name="Something else")
    assert response.status_code == 422
    assert response.json()["error"] == "IdempotencyKeyReused"
    assert Organization.objects.count() == 1


def test_a_request_in_flight_with_the_same_key_gets_409(owner, jwt_client):
    # The first request is still running: its in-flight lock is held in the shared cache.
    lock = "idem:" + hashlib.sha256(f"user:{owner.pk}|order-4".encode()).hexdigest() + ":lock"
    cache.add(lock, 1, 60)
    response = create(jwt_client(owner), "order-4")
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
    assert not Organization.objects.exists()


def test_keys_are_scoped_to_the_caller(owner, stranger, jwt_client):
    create(jwt_client(owner), "shared-key")
    response = create(jwt_client(stranger), "shared-key")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Organization.objects.count() == 2


def test_errors_are_replayed_too_but_not_server_errors(owner, jwt_client):
    client = jwt_client(owner)
    bad = client.post("/api/organizations", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    again = client.post("/api/organizations", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert bad.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"


def _create_key(client, organization, idempotency_key):
    return client.post(
        f"/api/organizations/{organization.id}/api-keys",
        {"name": "Production", "scopes": ["all"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=idempotency_key,
    )


def test_a_replayed_key_creation_says_the_key_is_redacted(organization, owner, jwt_client):
    client = jwt_client(owner)
    first = _create_key(client, organization, "key-1")
    replay = _create_key(client, organization, "key-1")
    assert first.json()["key"].startswith("gx_live_")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["Idempotent-Replay-Redacted"] == "key"
    assert replay.json()["key"] == "gx_live_[redacted]"
    assert replay.json()["id"] == first.json()["id"]


def _raw_idempotency_records() -> bytes:
    import redis
    from django.conf import settings

    raw = redis.Redis.from_url(settings.REDIS_URL)
    return b"".join(raw.get(name) or b"" for name in raw.scan_iter(match="*idem:*"))


@pytest.mark.redis
def test_the_stored_record_of_a_key_creation_holds_no_key(organization, owner, jwt_client):
    full_key = _create_key(jwt_client(owner), organization, "key-2").json()["key"]
    stored = _raw_idempotency_records()
    assert b"gx_live_[redacted]" in stored
    assert full_key.encode() not in stored
    assert full_key.split("_")[-1].encode() not in stored


@pytest.mark.redis
def test_the_stored_record_of_a_webhook_creation_holds_no_secret(organization, partner_client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    client = partner_client(organization, scopes=("webhooks:manage",))
    body = {"url": "https://127.0.0.1:9/hooks", "events": ["cart_tryon.completed"]}
    created = client.post("/api/v1/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    stored = _raw_idempotency_records()
    assert b"whsec_[redacted]" in stored
    assert secret.encode() not in stored and secret.removeprefix("whsec_").encode() not in stored

    replay = client.post("/api/v1/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY="hook-1")
    assert replay.json()["secret"] == "whsec_[redacted]"
    assert replay["Idempotent-Replay-Redacted"] == "secret"


@pytest.mark.parametrize("key", ["   ", "\t", "order-1\x7f", "ключ-1", " order-1", "x" * 256])
def test_a_key_the_documented_pattern_refuses_is_a_400_and_nothing_is_created(owner, jwt_client, key):
    client = jwt_client(owner)
    response = client.post(
        "/api/organizations",
        {"name": "Acme"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert "Idempotency-Key" in response.json()["details"]
    assert not Organization.objects.exists()


@pytest.mark.parametrize("key", ["a", "5f0c6a1e-9b1e-4d7e-8a51-6f1f3c2b9d40", "order 42/retry:1", "~" * 255])
def test_keys_of_visible_ascii_are_accepted(owner, jwt_client, key):
    assert create(jwt_client(owner), key).status_code == 201


def test_the_documented_pattern_is_the_one_the_server_applies():
    document = APIClient().get("/api/schema", {"format": "json"}).json()
    headers = [
        parameter["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    ]
    assert headers and all(schema["pattern"] == KEY_PATTERN for schema in headers)
    assert all(schema["maxLength"] == 255 for schema in headers)
