from decimal import Decimal

import pytest
from django.urls import reverse

from apikeys.services import apikey_authenticate
from config.errors import InvalidApiKey
from organizations.models import CreditLedgerEntry

pytestmark = pytest.mark.django_db


def add_credits_url(organization):
    return reverse("admin:organizations_organization_add_credits", args=[organization.pk])


def test_billing_staff_add_credits_through_the_ledger(client, organization, billing_staff):
    client.force_login(billing_staff)
    response = client.post(add_credits_url(organization), {"amount": "250.50", "description": "Invoice 42"})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.credits == Decimal("350.50")
    entry = CreditLedgerEntry.objects.get(organization=organization, kind="top_up")
    assert entry.actor == billing_staff and entry.description == "Invoice 42"


def test_support_staff_can_read_but_not_add_credits(client, organization, support_staff):
    client.force_login(support_staff)
    change_page = client.get(reverse("admin:organizations_organization_change", args=[organization.pk]))
    assert change_page.status_code == 200
    response = client.post(add_credits_url(organization), {"amount": "10"})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.credits == Decimal("100.00")
    assert not CreditLedgerEntry.objects.filter(kind="top_up").exists()


def test_invalid_amount_is_shown_on_the_form_and_changes_nothing(client, organization, billing_staff):
    client.force_login(billing_staff)
    response = client.post(add_credits_url(organization), {"amount": "-5"})
    assert response.status_code == 200
    assert response.context["form"].errors
    organization.refresh_from_db()
    assert organization.credits == Decimal("100.00")


def test_ledger_is_shown_read_only_and_credits_cannot_be_edited(client, organization, billing_staff):
    client.force_login(billing_staff)
    url = reverse("admin:organizations_organization_change", args=[organization.pk])
    page = client.get(url)
    assert b"Signup credit grant" in page.content
    ledger_admin = client.get(reverse("admin:organizations_creditledgerentry_changelist"))
    assert ledger_admin.status_code == 200
    assert client.get(reverse("admin:organizations_creditledgerentry_add")).status_code == 403


def test_suspending_an_organization_in_admin_blocks_its_keys(
    client, organization, django_user_model, api_key_for, django_capture_on_commit_callbacks
):
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")
    _, raw_key = api_key_for(organization)
    apikey_authenticate(raw_key)  # cached as verified
    client.force_login(superuser)
    url = reverse("admin:organizations_organization_change", args=[organization.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in ("name", "domain", "billing_email")}
    data.update(
        {
            "settings": '{"webhookRetries": 3, "defaultRenderQuality": "hd"}',
            "status": "suspended",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": str(organization.memberships.get().pk),
            "memberships-0-organization": organization.pk,
            "memberships-0-user": str(organization.memberships.get().user_id),
            "memberships-0-role": "owner",
            "ledger_entries-TOTAL_FORMS": "1",
            "ledger_entries-INITIAL_FORMS": "1",
            "ledger_entries-0-id": str(organization.ledger_entries.get().pk),
            "ledger_entries-0-organization": organization.pk,
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    organization.refresh_from_db()
    assert organization.status == "suspended"
    with pytest.raises(InvalidApiKey):
        apikey_authenticate(raw_key)
