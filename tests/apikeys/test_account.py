"""The account seen through an API key: GET /v1/account and /v1/account/ledger (scope account:read)."""

import pytest
from rest_framework.test import APIClient

from organizations.services import credits_charge, credits_top_up, organization_sandbox

pytestmark = pytest.mark.django_db


def partner(raw_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def test_account_shows_the_organization_the_balance_and_the_keys_limits(organization, api_key_for):
    key, raw_key = api_key_for(
        organization, scopes=["account:read"], rate_limit=30, endpoint_limits={"cart-tryons:create": 5}
    )
    response = partner(raw_key).get("/api/v1/account")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["organizationId"] == organization.id and body["name"] == organization.name
    assert (body["status"], body["livemode"], body["credits"]) == ("active", True, 100)
    assert body["apiKey"]["id"] == key.id and body["apiKey"]["mode"] == "live"
    assert body["apiKey"]["scopes"] == ["account:read"] and body["apiKey"]["rateLimit"] == 30
    assert body["apiKey"]["endpointLimits"] == {"cart-tryons:create": 5}
    assert body["apiKey"]["remaining"] == 29 == int(response["X-RateLimit-Remaining"])


def test_a_test_key_sees_the_sandbox_balance_under_the_live_id(organization, api_key_for):
    _, raw_key = api_key_for(organization, mode="test")
    credits_charge(
        organization_id=organization_sandbox(organization=organization).id, amount=4, reference="x"
    )
    body = partner(raw_key).get("/api/v1/account").json()
    assert body["organizationId"] == organization.id
    assert (body["livemode"], body["credits"], body["apiKey"]["mode"]) == (False, 96, "test")


def test_the_account_needs_account_read_which_all_grants(organization, api_key_for):
    _, narrow = api_key_for(organization, scopes=["tryon:read"])
    for path in ("/api/v1/account", "/api/v1/account/ledger"):
        refused = partner(narrow).get(path)
        assert refused.status_code == 403 and refused.json()["details"]["requiredScope"] == "account:read"
    _, everything = api_key_for(organization, scopes=["all"])
    assert partner(everything).get("/api/v1/account").status_code == 200


def test_the_ledger_is_paginated_and_filtered_by_type_and_date(organization, api_key_for, billing_staff):
    _, raw_key = api_key_for(organization, scopes=["account:read"])
    credits_top_up(organization=organization, amount=50, actor=billing_staff)
    credits_charge(organization_id=organization.id, amount=3, reference="cts_1")
    client = partner(raw_key)
    everything = client.get("/api/v1/account/ledger").json()
    assert [e["type"] for e in everything["data"]] == ["charge", "top_up", "grant"]
    assert everything["total"] == 3 and everything["data"][0]["balanceAfter"] == 147
    assert everything["data"][1]["actor"] == "GarmaxAI staff"
    charges = client.get("/api/v1/account/ledger", {"type": "charge"}).json()
    assert [(e["amount"], e["reference"]) for e in charges["data"]] == [(-3, "cts_1")]
    assert client.get("/api/v1/account/ledger", {"limit": 1}).json()["hasMore"] is True
    assert (
        client.get("/api/v1/account/ledger", {"from": "2000-01-01", "to": "2000-01-02"}).json()["total"] == 0
    )
    today = everything["data"][0]["createdAt"][:10]
    assert client.get("/api/v1/account/ledger", {"from": today, "to": today}).json()["total"] == 3
    # `to` is inclusive: a date-time range of one instant is that instant, not a 400.
    instant = everything["data"][0]["createdAt"]
    assert client.get("/api/v1/account/ledger", {"from": instant, "to": instant}).status_code == 200


@pytest.mark.parametrize(
    "params,field",
    [
        ({"type": "gift"}, "type"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-02", "to": "2026-02-01"}, "to"),
        ({"from": "2026-02-02T00:00:01Z", "to": "2026-02-02T00:00:00Z"}, "to"),
    ],
)
def test_bad_ledger_filters_are_400(organization, api_key_for, params, field):
    _, raw_key = api_key_for(organization)
    response = partner(raw_key).get("/api/v1/account/ledger", params)
    assert response.status_code == 400 and field in response.json()["details"]
