"""`Idempotency-Key` on POST /api/organizations/{id}/credits: scoped to the organization for billing staff."""

import pytest

from organizations.models import CreditLedgerEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BODY = {"amount": 25, "description": "Invoice 2026-8"}


def top_up(jwt_client, user, organization, key="invoice-2026-8", body=BODY):
    return jwt_client(user).post(
        f"/api/organizations/{organization.pk}/credits", body, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_two_billing_staff_with_one_key_top_up_once(jwt_client, organization, billing_staff):
    colleague = UserFactory(username="billing-2", is_staff=True, groups=["billing"])
    first = top_up(jwt_client, billing_staff, organization)
    second = top_up(jwt_client, colleague, organization)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert organization.ledger_entries.filter(kind=CreditLedgerEntry.Kind.TOP_UP).count() == 1


def test_the_same_key_with_another_amount_is_refused_for_a_colleague(jwt_client, organization, billing_staff):
    colleague = UserFactory(username="billing-2", is_staff=True, groups=["billing"])
    top_up(jwt_client, billing_staff, organization)
    response = top_up(jwt_client, colleague, organization, body={**BODY, "amount": 30})
    assert response.status_code == 422


def test_the_key_is_per_organization(jwt_client, organization, other_organization, billing_staff):
    top_up(jwt_client, billing_staff, organization)
    other = top_up(jwt_client, billing_staff, other_organization)
    assert other.status_code == 201 and "Idempotent-Replayed" not in other
    assert other_organization.ledger_entries.filter(kind=CreditLedgerEntry.Kind.TOP_UP).count() == 1


def test_an_owners_refusal_is_never_what_billing_staff_replay(jwt_client, organization, owner, billing_staff):
    refused = top_up(jwt_client, owner, organization)
    assert refused.status_code == 403
    response = top_up(jwt_client, billing_staff, organization)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
