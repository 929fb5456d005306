from decimal import Decimal

import pytest

from organizations.models import CreditLedgerEntry, Membership, Organization
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


def test_creating_an_organization_makes_the_creator_owner_and_grants_signup_credits(owner, jwt_client):
    response = jwt_client(owner).post(
        "/api/organizations",
        {
            "name": "Acme Fashion",
            "domain": "acmefashion.com",
            "billingEmail": "billing@acmefashion.com",
            "settings": {"webhookRetries": 3, "defaultRenderQuality": "hd", "lowBalanceThreshold": 20},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("org_")
    assert body["credits"] == 100
    assert body["status"] == "active"
    assert body["createdAt"].endswith("Z")
    assert Membership.objects.get(organization_id=body["id"], user=owner).role == "owner"
    entry = CreditLedgerEntry.objects.get(organization_id=body["id"])
    assert entry.kind == "grant" and entry.amount == Decimal("100.00")


def test_create_organization_requires_a_token(jwt_client):
    response = jwt_client().post("/api/organizations", {"name": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


@pytest.mark.parametrize(
    "settings_,field",
    [
        ({"webhookRetries": 11}, "settings"),
        ({"defaultRenderQuality": "8k"}, "settings"),
        ({"colour": "red"}, "settings"),
    ],
)
def test_invalid_settings_are_rejected_and_nothing_is_created(owner, jwt_client, settings_, field):
    response = jwt_client(owner).post(
        "/api/organizations", {"name": "Acme", "settings": settings_}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "ValidationError"
    assert field in body["details"]
    assert not Organization.objects.exists()


def test_members_read_and_strangers_get_404(organization, owner, stranger, member_of, jwt_client):
    member = member_of(organization)
    assert jwt_client(member).get(f"/api/organizations/{organization.id}").status_code == 200
    response = jwt_client(stranger).get(f"/api/organizations/{organization.id}")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"


def test_owner_updates_settings_and_members_cannot(organization, owner, member_of, jwt_client):
    response = jwt_client(owner).patch(
        f"/api/organizations/{organization.id}", {"settings": {"defaultRenderQuality": "4k"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["settings"] == {
        "webhookRetries": 3,
        "defaultRenderQuality": "4k",
        "lowBalanceThreshold": 20,
        "reusedRenderPrice": 0,
    }
    member = member_of(organization)
    response = jwt_client(member).patch(f"/api/organizations/{organization.id}", {"name": "x"}, format="json")
    assert response.status_code == 403


def test_owner_cannot_mint_credits(organization, owner, jwt_client):
    response = jwt_client(owner).post(
        f"/api/organizations/{organization.id}/credits", {"amount": 1000}, format="json"
    )
    assert response.status_code == 403
    organization.refresh_from_db()
    assert organization.credits == Decimal("100.00")


def test_billing_staff_add_credits_through_the_ledger(organization, billing_staff, jwt_client):
    response = jwt_client(billing_staff).post(
        f"/api/organizations/{organization.id}/credits",
        {"amount": 1000, "description": "Monthly credit purchase"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["credits"] == 1100
    entry = CreditLedgerEntry.objects.get(organization=organization, kind="top_up")
    assert entry.actor == billing_staff and entry.balance_after == Decimal("1100.00")


def test_support_staff_cannot_add_credits(organization, support_staff, jwt_client):
    response = jwt_client(support_staff).post(
        f"/api/organizations/{organization.id}/credits", {"amount": 10}, format="json"
    )
    assert response.status_code == 403


def test_ledger_is_listed_for_members_only(organization, owner, stranger, jwt_client):
    response = jwt_client(owner).get(f"/api/organizations/{organization.id}/credits")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["data"][0]["type"] == "grant"
    assert jwt_client(stranger).get(f"/api/organizations/{organization.id}/credits").status_code == 404


def test_staff_without_the_support_or_billing_group_cannot_read_organizations(organization, jwt_client):
    """`is_staff` only opens the admin; reading partners' organizations takes a staff group."""
    from tests.factories import UserFactory

    staff = UserFactory(username="intern", is_staff=True)
    client = jwt_client(staff)
    for path in ("", "/credits", "/api-keys"):
        response = client.get(f"/api/organizations/{organization.id}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"] == "ResourceNotFound"


def test_support_and_billing_staff_read_every_organization(
    organization, support_staff, billing_staff, jwt_client
):
    for staff in (support_staff, billing_staff):
        client = jwt_client(staff)
        assert client.get(f"/api/organizations/{organization.id}").status_code == 200
        assert client.get(f"/api/organizations/{organization.id}/credits").status_code == 200


def test_partners_see_garmaxai_staff_as_the_ledger_actor_never_a_username(
    organization, owner, billing_staff, jwt_client
):
    top_up = jwt_client(billing_staff).post(
        f"/api/organizations/{organization.id}/credits", {"amount": 50}, format="json"
    )
    assert top_up.status_code == 201
    assert top_up.json()["entry"]["actor"] == "GarmaxAI staff"
    response = jwt_client(owner).get(f"/api/organizations/{organization.id}/credits")
    entries = {entry["type"]: entry for entry in response.json()["data"]}
    assert entries["top_up"]["actor"] == "GarmaxAI staff"
    assert billing_staff.username not in response.content.decode()


def _create(client, name="Acme Fashion"):
    return client.post("/api/organizations", {"name": name}, format="json")


def test_signup_credits_are_granted_once_per_user_not_per_organization(owner, jwt_client):
    client = jwt_client(owner)
    first, second = _create(client, "First shop"), _create(client, "Second shop")
    assert first.status_code == second.status_code == 201
    assert (first.json()["credits"], second.json()["credits"]) == (100, 0)
    assert CreditLedgerEntry.objects.filter(kind="grant").count() == 1
    assert not CreditLedgerEntry.objects.filter(organization_id=second.json()["id"]).exists()


def test_a_user_owns_at_most_five_organizations_by_default(owner, jwt_client):
    client = jwt_client(owner)
    assert [_create(client, f"Shop {n}").status_code for n in range(5)] == [201] * 5
    refused = _create(client, "Shop 6")
    assert refused.status_code == 403
    body = refused.json()
    assert (body["error"], body["details"]) == ("Forbidden", {"maxOrganizationsPerUser": 5})
    assert Organization.objects.count() == 5


def test_the_owner_of_a_suspended_organization_cannot_create_another(owner, jwt_client):
    from organizations.services import organization_set_status

    client = jwt_client(owner)
    suspended = Organization.objects.get(pk=_create(client, "Abused shop").json()["id"])
    organization_set_status(organization=suspended, status=Organization.Status.SUSPENDED)

    response = _create(client, "Fresh start")

    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"
    assert "suspended" in response.json()["message"]
    assert Organization.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_creates_by_one_user_grant_signup_credits_once(owner, jwt_client):
    client = jwt_client(owner)
    assert run_concurrently(lambda n: _create(client, f"Shop {n}").status_code, 4) == [201] * 4
    assert CreditLedgerEntry.objects.filter(kind="grant").count() == 1
    assert sum(Organization.objects.values_list("credits", flat=True)) == Decimal("100")


def test_billing_staff_onboarding_partners_grant_signup_credits_to_each(billing_staff, jwt_client):
    client = jwt_client(billing_staff)
    created = [_create(client, f"Partner {n}") for n in range(6)]
    assert [response.status_code for response in created] == [201] * 6
    assert {response.json()["credits"] for response in created} == {100}
