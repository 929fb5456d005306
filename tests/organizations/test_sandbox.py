"""The test-mode sandbox: created with the first test key, its own balance, reset by the owner."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from organizations.models import CreditLedgerEntry, Organization
from organizations.services import credits_charge, organization_sandbox, organization_set_status

pytestmark = pytest.mark.django_db


def reset_url(organization):
    return f"/api/organizations/{organization.id}/sandbox/reset"


def test_the_first_test_key_creates_a_sandbox_funded_with_the_signup_grant(organization, owner, jwt_client):
    response = jwt_client(owner).post(
        f"/api/organizations/{organization.id}/api-keys",
        {"name": "Staging", "scopes": ["all"], "mode": "test"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["key"].startswith("gx_test_") and response.json()["mode"] == "test"
    sandbox = Organization.objects.get(sandbox_of=organization)
    assert sandbox.credits == Decimal("100.00") and not sandbox.livemode
    assert sandbox.ledger_entries.get().kind == CreditLedgerEntry.Kind.GRANT
    organization.refresh_from_db()
    assert organization.credits == Decimal("100.00")  # the live balance is untouched
    assert organization_sandbox(organization=organization) == sandbox  # one sandbox per organization


def test_the_owner_resets_the_sandbox_balance_through_the_ledger(organization, owner, jwt_client):
    sandbox = organization_sandbox(organization=organization)
    credits_charge(organization_id=sandbox.id, amount=37, reference="cts_test_1")
    response = jwt_client(owner).post(reset_url(organization))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["credits"] == 100 and body["mode"] == "test" and body["organizationId"] == organization.id
    assert body["entry"]["type"] == "adjustment" and body["entry"]["amount"] == 37
    sandbox.refresh_from_db()
    assert sandbox.credits == sum(e.amount for e in sandbox.ledger_entries.all()) == 100
    # Already at the grant: nothing to record.
    assert jwt_client(owner).post(reset_url(organization)).json()["entry"] is None
    organization.refresh_from_db()
    assert organization.credits == 100 and organization.ledger_entries.count() == 1


def test_members_cannot_reset_and_strangers_get_404(organization, member_of, jwt_client, stranger):
    assert jwt_client(member_of(organization)).post(reset_url(organization)).status_code == 403
    assert jwt_client(stranger).post(reset_url(organization)).status_code == 404
    assert jwt_client().post(reset_url(organization)).status_code == 401


def test_a_sandbox_is_never_reachable_by_its_own_id(organization, owner, jwt_client, support_staff):
    sandbox = organization_sandbox(organization=organization)
    for client in (jwt_client(owner), jwt_client(support_staff)):
        assert client.get(f"/api/organizations/{sandbox.id}").status_code == 404
        assert client.get(f"/api/organizations/{sandbox.id}/api-keys").status_code == 404
        assert client.post(reset_url(sandbox)).status_code == 404


def test_the_sandbox_follows_its_organizations_name_settings_and_status(
    organization, owner, jwt_client, api_key_for, django_capture_on_commit_callbacks
):
    _, raw_key = api_key_for(organization, mode="test")
    jwt_client(owner).patch(
        f"/api/organizations/{organization.id}",
        {"name": "Acme Two", "settings": {"defaultRenderQuality": "4k"}},
        format="json",
    )
    sandbox = Organization.objects.get(sandbox_of=organization)
    assert sandbox.name == "Acme Two" and sandbox.default_render_quality == "4k"
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    assert client.get("/api/v1/customers").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        organization_set_status(organization=organization, status=Organization.Status.SUSPENDED)
    sandbox.refresh_from_db()
    assert sandbox.status == Organization.Status.SUSPENDED
    refused = client.get("/api/v1/customers")
    assert refused.status_code == 401 and "suspended" in refused.json()["message"]
