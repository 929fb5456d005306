"""Per-operation limits: a key's own limit for one operation, on top of its overall limit."""

import pytest
from rest_framework.test import APIClient

from apikeys.catalogue import partner_operations

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def partner(raw_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def upsert(client, external_id):
    return client.post("/api/v1/customers", {"externalId": external_id}, format="json")


def test_the_catalogue_names_every_partner_operation_from_the_url_conf():
    operations = partner_operations()
    assert {
        "cart-tryons:create",
        "cart-tryons:cancel",
        "cart-tryons:list",
        "cart-tryons:read",
        "customers:create",
        "customers:delete",
        "photos:create",
        "tryons:create",
        "webhooks:update",
        "webhooks:rotate-secret",
        "account:read",
        "account:ledger",
    } <= operations


def test_an_operation_limit_refuses_with_429_naming_it_while_other_operations_go_on(
    organization, api_key_for
):
    _, raw_key = api_key_for(organization, rate_limit=100, endpoint_limits={"customers:create": 2})
    client = partner(raw_key)
    first = upsert(client, "c1")
    assert first.status_code == 201
    # The tighter limit is the one reported.
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("2", "1")
    assert upsert(client, "c2").status_code == 201
    refused = upsert(client, "c3")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "RateLimitExceeded"
    assert body["details"]["limitedBy"] == "customers:create" and body["details"]["limit"] == 2
    assert "customers:create" in body["message"]
    assert int(refused["Retry-After"]) >= 1 and refused["X-RateLimit-Limit"] == "2"
    # Reads are not that operation: they go on, reporting the overall limit.
    listed = client.get("/api/v1/customers")
    assert listed.status_code == 200 and listed["X-RateLimit-Limit"] == "100"
    assert listed.json()["total"] == 2  # the refused upsert changed nothing


def test_the_overall_limit_still_applies_and_says_so(organization, api_key_for):
    _, raw_key = api_key_for(organization, rate_limit=2, endpoint_limits={"customers:create": 50})
    client = partner(raw_key)
    assert upsert(client, "c1")["X-RateLimit-Limit"] == "2"  # fewer left under the overall limit
    upsert(client, "c2")
    refused = upsert(client, "c3")
    assert refused.status_code == 429 and refused.json()["details"]["limitedBy"] == "key"


def test_operation_limits_are_per_key(organization, api_key_for):
    _, first = api_key_for(organization, endpoint_limits={"customers:create": 1})
    _, second = api_key_for(organization, endpoint_limits={"customers:create": 1})
    assert upsert(partner(first), "a").status_code == 201
    assert upsert(partner(first), "b").status_code == 429
    assert upsert(partner(second), "b").status_code == 201


def test_limits_set_at_creation_and_changed_by_patch_apply_on_the_next_request(
    organization, owner, jwt_client
):
    owner_client = jwt_client(owner)
    url = f"/api/organizations/{organization.id}/api-keys"
    created = owner_client.post(
        url, {"name": "Shop", "scopes": ["all"], "endpointLimits": {"customers:create": 1}}, format="json"
    )
    assert created.status_code == 201 and created.json()["endpointLimits"] == {"customers:create": 1}
    client = partner(created.json()["key"])
    assert upsert(client, "a").status_code == 201
    assert upsert(client, "b").status_code == 429
    patched = owner_client.patch(f"{url}/{created.json()['id']}", {"endpointLimits": {}}, format="json")
    assert patched.status_code == 200 and patched.json()["endpointLimits"] == {}
    assert upsert(client, "b").status_code == 201


@pytest.mark.parametrize(
    "limits",
    [{"customers:fly": 3}, {"customers:create": 0}, {"customers:create": "ten"}, ["customers:create"]],
)
def test_bad_limits_are_refused_at_creation(organization, owner, jwt_client, limits):
    response = jwt_client(owner).post(
        f"/api/organizations/{organization.id}/api-keys",
        {"name": "Shop", "scopes": ["all"], "endpointLimits": limits},
        format="json",
    )
    assert response.status_code == 400 and response.json()["error"] == "ValidationError"
    assert any(field.startswith("endpointLimits") for field in response.json()["details"])
    assert not organization.api_keys.exists()
