"""Bad input is a 400/413 in the seed's error format, never a 500, and no log line carries SQL values or
personal data."""

import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from customers.models import Customer
from tests.images import image_bytes

pytestmark = pytest.mark.django_db

SEED_FIELDS = {"error", "message", "code", "details"}


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def post_json(client, path, body: str):
    return client.post(path, data=body, content_type="application/json")


def assert_seed_error(response, status, name):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= SEED_FIELDS
    assert (body["error"], body["code"]) == (name, status)
    return body


@pytest.mark.postgres
@pytest.mark.parametrize(
    "customer",
    [
        {"externalId": "c1", "email": "shopper@example.com", "metadata": {"note": "\udfff"}},
        {"externalId": "c1", "email": "shopper@example.com", "metadata": {"\udfff": 1}},
        {"externalId": "c1\udfff", "email": "shopper@example.com"},
        {"externalId": "c1", "name": "Ann \ud800", "email": "shopper@example.com"},
    ],
    ids=["metadata-value", "metadata-key", "external-id", "name"],
)
def test_a_lone_surrogate_anywhere_in_a_body_is_a_400_on_postgresql(client, customer, caplog):
    response = post_json(client, "/api/v1/customers", json.dumps(customer))  # ensure_ascii: "\udfff"
    assert_seed_error(response, 400, "ValidationError")
    assert not Customer.objects.exists()
    assert "shopper@example.com" not in caplog.text


def upload_photo(client, metadata: str):
    client.post("/api/v1/customers", {"externalId": "c1"}, format="json")
    photo = SimpleUploadedFile("p.jpg", image_bytes(size=(600, 900)), "image/jpeg")
    return client.post(
        "/api/v1/customers/c1/photos", {"photo": photo, "metadata": metadata}, format="multipart"
    )


def test_a_lone_surrogate_in_photo_metadata_is_a_400(client):
    body = assert_seed_error(upload_photo(client, json.dumps({"a": "\udfff"})), 400, "ValidationError")
    assert "metadata" in body["details"]


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deeply_nested_json_is_a_400(client, depth):
    body = assert_seed_error(
        post_json(client, "/api/v1/customers", "[" * depth + "]" * depth), 400, "ValidationError"
    )
    assert "nested deeper" in body["details"]["body"][0]


def test_deeply_nested_photo_metadata_is_a_400(client):
    nested = '{"a":' + "[" * 4000 + "]" * 4000 + "}"  # within the 8 KB limit, deeper than json.loads goes
    body = assert_seed_error(upload_photo(client, nested), 400, "ValidationError")
    assert "metadata" in body["details"]


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/v1/customers", "/api/organizations"])
def test_a_json_body_over_the_upload_limit_is_a_413(path, organization, api_key_for, owner, settings):
    _, raw_key = api_key_for(organization)
    client = APIClient()
    if path.startswith("/api/v1"):
        client.credentials(HTTP_X_API_KEY=raw_key)
    elif path == "/api/organizations":
        from rest_framework_simplejwt.tokens import RefreshToken

        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    big = json.dumps({"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "password": "p"})
    body = assert_seed_error(post_json(client, path, big), 413, "PayloadTooLarge")
    assert body["details"] == {"maxBytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


def test_a_413_is_also_answered_with_an_idempotency_key(client, settings):
    big = json.dumps({"externalId": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = client.post(
        "/api/v1/customers", data=big, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big-1"
    )
    assert_seed_error(response, 413, "PayloadTooLarge")


@pytest.mark.postgres
def test_a_failing_insert_logs_no_sql_values_or_personal_data(client, caplog, monkeypatch):
    # Let the surrogate through every check so PostgreSQL itself refuses the INSERT.
    monkeypatch.setattr("api.parsers.json_refusal", lambda data: None)
    monkeypatch.setattr("api.metadata.json_refusal", lambda data: None)
    caplog.set_level(logging.INFO)
    customer = {"externalId": "cust-ann", "email": "ann.shopper@example.com", "metadata": {"a": "\udfff"}}

    response = post_json(client, "/api/v1/customers", json.dumps(customer))

    assert_seed_error(response, 500, "InternalError")
    assert "Unhandled error" in caplog.text and "DataError" in caplog.text  # the failure is logged...
    for leaked in ("ann.shopper@example.com", "cust-ann", "LINE 1", "INSERT"):
        assert leaked not in caplog.text  # ...without the statement or its values
    assert not Customer.objects.exists()
