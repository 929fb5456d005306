from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.urls import reverse

from api.errors import InvalidApiKey
from apikeys.services import apikey_authenticate
from organizations.models import CreditLedgerEntry, Organization
from tests.factories import make_organization

pytestmark = pytest.mark.django_db


def add_credits_url(organization):
    return reverse("admin:organizations_organization_add_credits", args=[quote(organization.pk)])


def test_billing_staff_add_credits_through_the_ledger(client, organization, billing_staff):
    client.force_login(billing_staff)
    form = {"amount": "250.50", "description": "Invoice 42"}
    preview = client.post(add_credits_url(organization), form)
    assert preview.status_code == 200
    confirmation = preview.context["preview"].pop("confirmation")
    assert preview.context["preview"] == {
        "before": Decimal("100.00"),
        "amount": Decimal("250.50"),
        "after": Decimal("350.50"),
    }
    assert not CreditLedgerEntry.objects.filter(kind="top_up").exists()  # nothing until confirmed
    response = client.post(
        add_credits_url(organization), {**form, "confirm": "yes", "confirmation": confirmation}
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.credits == Decimal("350.50")
    entry = CreditLedgerEntry.objects.get(organization=organization, kind="top_up")
    assert entry.actor == billing_staff and entry.description == "Invoice 42"


def test_support_staff_can_read_but_not_add_credits(client, organization, support_staff):
    client.force_login(support_staff)
    change_page = client.get(
        reverse("admin:organizations_organization_change", args=[quote(organization.pk)])
    )
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
    url = reverse("admin:organizations_organization_change", args=[quote(organization.pk)])
    page = client.get(url)
    assert b"Signup credit grant" in page.content
    form = page.context["adminform"].form
    assert not {"credits", "low_balance_alerted_at"} & set(form.fields)
    assert "ledger_entries-TOTAL_FORMS" not in page.content.decode()  # the ledger is no inline formset
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
    url = reverse("admin:organizations_organization_change", args=[quote(organization.pk)])
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
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    organization.refresh_from_db()
    assert organization.status == "suspended"
    with pytest.raises(InvalidApiKey):
        apikey_authenticate(raw_key)


def test_organizations_with_a_ledger_cannot_be_deleted_and_staff_are_told_to_suspend(
    client, organization, django_user_model
):
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client.force_login(superuser)
    change_url = reverse("admin:organizations_organization_change", args=[quote(organization.pk)])
    change_page = client.get(change_url)
    assert change_page.context["has_delete_permission"] is False
    assert "deletelink" not in change_page.content.decode()
    listing = client.get(reverse("admin:organizations_organization_changelist"))
    assert "delete_selected" not in listing.content.decode()

    delete_url = reverse("admin:organizations_organization_delete", args=[quote(organization.pk)])
    response = client.post(delete_url, {"post": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == change_url
    assert "Suspend it instead" in response.content.decode()
    bulk = client.post(
        reverse("admin:organizations_organization_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [organization.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert Organization.objects.filter(pk=organization.pk).exists()
    assert organization.ledger_entries.count() == 1


def test_adding_credits_in_admin_leaves_history_in_recent_actions(
    client, organization, billing_staff, confirm_money_form
):
    client.force_login(billing_staff)
    confirm_money_form(client, add_credits_url(organization), {"amount": "25", "description": "Invoice 7"})
    entry = LogEntry.objects.get(object_id=organization.pk)
    assert entry.user == billing_staff and entry.action_flag == CHANGE
    ledger_entry = organization.ledger_entries.get(kind="top_up")
    assert entry.get_change_message() == (
        f"Add credits: +25.00 credits (reason: Invoice 7); balance 100.00 → 125.00. "
        f"Ledger entry {ledger_entry.pk}."
    )
    home = client.get(reverse("admin:index")).content.decode()
    assert "None available" not in home and organization.name in home


def test_ledger_list_shows_times_to_the_second_and_links_the_organization(
    client, organization, billing_staff
):
    client.force_login(billing_staff)
    page = client.get(reverse("admin:organizations_creditledgerentry_changelist")).content.decode()
    grant = organization.ledger_entries.get()
    assert grant.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") in page
    assert reverse("admin:organizations_organization_change", args=[quote(organization.pk)]) in page


def test_the_delete_guard_finds_an_organization_whose_id_looks_like_an_admin_escape(
    client, django_user_model, monkeypatch
):
    # The admin writes "_5B" for "[" in its URLs; an id that happens to contain it must still be found.
    from api import ids

    original = ids.new_id
    monkeypatch.setattr(
        ids, "new_id", lambda prefix: "org_5B2F" + "x" * 18 if prefix == "org" else original(prefix)
    )
    organization = make_organization(name="Escaped Fashion")
    monkeypatch.setattr(ids, "new_id", original)
    assert organization.pk == "org_5B2F" + "x" * 18 and quote(organization.pk) != organization.pk
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client.force_login(superuser)
    delete_url = reverse("admin:organizations_organization_delete", args=[quote(organization.pk)])
    response = client.post(delete_url, {"post": "yes"}, follow=True)
    assert "Suspend it instead" in response.content.decode()
    assert Organization.objects.filter(pk=organization.pk).exists()


class TestMoneyConfirmation:
    def test_a_confirmation_applied_once_shows_its_first_result_when_repeated(
        self, client, organization, billing_staff, confirm_money_form
    ):
        client.force_login(billing_staff)
        url = add_credits_url(organization)
        form = {"amount": "25", "description": "Invoice 7"}
        preview, first = confirm_money_form(client, url, form)
        confirmation = preview.context["preview"]["confirmation"]

        again = client.post(url, {**form, "confirm": "yes", "confirmation": confirmation}, follow=True)
        changed = client.post(url, {**form, "amount": "99", "confirm": "yes", "confirmation": confirmation})

        assert first.status_code == 302 and changed.status_code == 302
        entry = organization.ledger_entries.get(kind="top_up")
        assert entry.reference == f"admin:{confirmation}" and entry.amount == Decimal("25.00")
        assert (
            "already applied" in again.content.decode()
            and f"Ledger entry {entry.pk}" in again.content.decode()
        )
        organization.refresh_from_db()
        assert organization.credits == Decimal("125.00")
        assert LogEntry.objects.filter(object_id=organization.pk).count() == 1

    @pytest.mark.parametrize("confirmation", ["", "short", "x" * 21 + "!", "a" * 23])
    def test_a_confirm_without_a_valid_confirmation_is_only_previewed(
        self, client, organization, billing_staff, confirmation
    ):
        client.force_login(billing_staff)
        form = {"amount": "25", "description": "Invoice 7", "confirm": "yes", "confirmation": confirmation}
        response = client.post(add_credits_url(organization), form)
        assert response.status_code == 200 and response.context["preview"]["after"] == Decimal("125.00")
        assert not organization.ledger_entries.filter(kind="top_up").exists()

    def test_each_preview_has_its_own_confirmation(self, client, organization, billing_staff):
        client.force_login(billing_staff)
        form = {"amount": "25", "description": "Invoice 7"}
        first, second = (client.post(add_credits_url(organization), form) for _ in range(2))
        assert first.context["preview"]["confirmation"] != second.context["preview"]["confirmation"]


def test_saving_the_organization_writes_only_the_fields_staff_changed(
    client, organization, django_user_model
):
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client.force_login(superuser)
    url = reverse("admin:organizations_organization_change", args=[quote(organization.pk)])
    page = client.get(url)
    data = {
        "name": "Acme Fashion EU",
        "domain": "",
        "billing_email": "",
        "settings": page.context["adminform"].form["settings"].value(),
        "status": "active",
        "credits": "999999",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    # A charge commits after the page was read and before Save: Save must not write the balance back.
    from organizations import services

    services.credits_charge(organization_id=organization.id, amount=30, reference="cts_meanwhile")
    response = client.post(url, data)

    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.name, organization.credits) == ("Acme Fashion EU", Decimal("70.00"))
