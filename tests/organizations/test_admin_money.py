"""Adjustments, the ledger's filters and exports, and the low-balance filter in the admin."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.urls import reverse
from openpyxl import load_workbook

from organizations import services
from organizations.models import CreditLedgerEntry
from tests.factories import make_organization

pytestmark = pytest.mark.django_db


def adjust_url(organization):
    return reverse("admin:organizations_organization_adjust_credits", args=[quote(organization.pk)])


def export_url(file_format, query=""):
    return reverse("admin:organizations_creditledgerentry_export", args=[file_format]) + query


def read_csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def read_xlsx(response):
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


class TestAdjustments:
    def test_a_negative_adjustment_previews_then_records_staff_and_reason(
        self, client, organization, billing_staff, confirm_money_form
    ):
        client.force_login(billing_staff)
        form = {"amount": "-30", "description": "Chargeback on invoice 9"}

        preview, response = confirm_money_form(client, adjust_url(organization), form)

        assert preview.context["preview"]["after"] == Decimal("70.00")
        assert b"70.00" in preview.content
        assert response.status_code == 302
        entry = organization.ledger_entries.get(kind="adjustment")
        assert (entry.amount, entry.balance_after) == (Decimal("-30.00"), Decimal("70.00"))
        assert entry.actor == billing_staff and entry.description == "Chargeback on invoice 9"
        log = LogEntry.objects.get(object_id=organization.pk)
        assert log.user == billing_staff
        assert "reason: Chargeback on invoice 9" in log.get_change_message()
        assert "balance 100.00 → 70.00" in log.get_change_message()

    def test_goodwill_credits_are_a_positive_adjustment(
        self, client, organization, billing_staff, confirm_money_form
    ):
        client.force_login(billing_staff)
        confirm_money_form(client, adjust_url(organization), {"amount": "5", "description": "Goodwill"})
        organization.refresh_from_db()
        assert organization.credits == Decimal("105.00")

    @pytest.mark.parametrize(
        "form",
        [
            {"amount": "-100.01", "description": "Too much", "confirm": "yes"},
            {"amount": "-5", "description": "", "confirm": "yes"},
            {"amount": "0", "description": "Nothing", "confirm": "yes"},
            {"amount": "abc", "description": "Bad", "confirm": "yes"},
        ],
    )
    def test_what_would_go_negative_or_lacks_a_reason_is_refused(
        self, client, organization, billing_staff, form
    ):
        client.force_login(billing_staff)
        response = client.post(adjust_url(organization), form)
        assert response.status_code == 200 and response.context["form"].errors
        organization.refresh_from_db()
        assert organization.credits == Decimal("100.00")
        assert not organization.ledger_entries.filter(kind="adjustment").exists()

    def test_a_balance_that_moved_since_the_preview_is_rechecked(self, client, organization, billing_staff):
        client.force_login(billing_staff)
        form = {"amount": "-90", "description": "x"}
        confirmation = client.post(adjust_url(organization), form).context["preview"]["confirmation"]
        services.credits_charge(organization_id=organization.id, amount=50, reference="cts_meanwhile")
        # Previewed at 100 → 10; confirmed after the charge: 50 - 90 would be negative.
        response = client.post(
            adjust_url(organization), {**form, "confirm": "yes", "confirmation": confirmation}
        )
        assert response.status_code == 200 and "can never go below 0" in response.content.decode()
        organization.refresh_from_db()
        assert organization.credits == Decimal("50.00")

    def test_support_cannot_adjust(self, client, organization, support_staff):
        client.force_login(support_staff)
        response = client.post(
            adjust_url(organization), {"amount": "5", "description": "x", "confirm": "yes"}
        )
        assert response.status_code == 302
        assert not organization.ledger_entries.filter(kind="adjustment").exists()


class TestLedgerExport:
    @pytest.fixture
    def ledger(self, organization, other_organization, billing_staff):
        services.credits_top_up(
            organization=organization, amount=40, actor=billing_staff, description="Inv 1"
        )
        services.credits_charge(organization_id=organization.id, amount=3, reference="cts_a")
        services.credits_adjust(
            organization=other_organization, amount=-2, actor=billing_staff, description="=HYPERLINK(1)"
        )

    def test_csv_exports_every_row_of_the_filter(self, client, ledger, organization, billing_staff):
        client.force_login(billing_staff)
        response = client.get(export_url("csv", f"?organization__id__exact={organization.pk}"))
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = read_csv(response)
        assert [row["kind"] for row in rows] == ["charge", "top_up", "grant"]
        assert {row["organizationId"] for row in rows} == {organization.pk}
        assert rows[1]["actor"] == "billing" and rows[1]["description"] == "Inv 1"
        assert rows[0]["amount"] == "-3.00" and rows[0]["balanceAfter"] == "137.00"

    def test_xlsx_exports_the_same_filtered_rows(self, client, ledger, billing_staff):
        client.force_login(billing_staff)
        rows = read_xlsx(client.get(export_url("xlsx", "?kind__exact=adjustment")))
        assert len(rows) == 1
        # Spreadsheet formulas in free text are neutralised.
        assert rows[0]["description"] == "'=HYPERLINK(1)"
        assert Decimal(str(rows[0]["amount"])) == Decimal("-2")

    def test_export_filters_by_actor_and_date(self, client, ledger, billing_staff):
        client.force_login(billing_staff)
        by_actor = read_csv(client.get(export_url("csv", f"?actor__id__exact={billing_staff.pk}")))
        assert sorted(row["kind"] for row in by_actor) == ["adjustment", "top_up"]
        future = read_csv(client.get(export_url("csv", "?created_at__gte=2999-01-01")))
        assert future == []

    def test_support_may_export_but_strangers_may_not(self, client, ledger, support_staff, stranger):
        client.force_login(support_staff)
        assert client.get(export_url("csv")).status_code == 200
        client.force_login(stranger)
        assert client.get(export_url("csv")).status_code == 302  # to the admin login
        assert client.get(export_url("pdf")).status_code == 302

    def test_the_change_list_links_its_filters_to_the_exports(self, client, ledger, billing_staff):
        client.force_login(billing_staff)
        page = client.get(reverse("admin:organizations_creditledgerentry_changelist") + "?kind__exact=charge")
        assert export_url("csv", "?kind__exact=charge") in page.content.decode()

    def test_a_large_range_streams_in_chunks(self, client, organization, billing_staff):
        CreditLedgerEntry.objects.bulk_create(
            CreditLedgerEntry(
                organization=organization,
                kind="adjustment",
                amount=Decimal("0"),
                balance_after=organization.credits,
                description=f"row {i}",
            )
            for i in range(4500)
        )
        client.force_login(billing_staff)
        response = client.get(export_url("csv"))
        assert response.streaming
        assert len(read_csv(response)) == 4501


class TestLowBalanceFilter:
    def test_the_filter_lists_organizations_at_or_below_their_threshold(
        self, client, organization, billing_staff
    ):
        low = make_organization(name="Low Shop", settings_={"lowBalanceThreshold": 100})  # 100 <= 100
        make_organization(name="Fine Shop", settings_={"lowBalanceThreshold": 99})
        client.force_login(billing_staff)
        page = client.get(reverse("admin:organizations_organization_changelist") + "?balance=low")
        names = [o.name for o in page.context["cl"].result_list]
        assert names == [low.name]
        # Default threshold 20: the fixture organization (100 credits) is not low until it spends 80.
        services.credits_charge(organization_id=organization.id, amount=80, reference="cts_big")
        page = client.get(reverse("admin:organizations_organization_changelist") + "?balance=low")
        assert sorted(o.name for o in page.context["cl"].result_list) == ["Acme Fashion", "Low Shop"]
