"""The console's own pages: the billing dashboard, an organization's overview, the search by id."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from organizations import selectors, services
from organizations.models import CreditLedgerEntry
from tests.factories import make_organization
from tryons.models import TryOn
from usage.recording import request_log_store

pytestmark = pytest.mark.django_db

BILLING = reverse("console:billing")
SEARCH = reverse("console:search")


def overview_url(organization):
    return reverse("console:organization", args=[organization.pk])


@pytest.fixture
def activity(organization, other_organization, billing_staff):
    services.credits_top_up(organization=organization, amount=50, actor=billing_staff, description="Inv 1")
    services.credits_charge(organization_id=organization.id, amount=30, reference="cts_x")
    services.credits_refund(organization_id=organization.id, amount=4, reference="cts_x:item:1")
    services.credits_charge(organization_id=other_organization.id, amount=95, reference="cts_y")  # 5 left


class TestDailyCredits:
    def test_sold_and_consumed_per_day_with_empty_days(self, activity):
        series = selectors.credits_daily(days=30)
        assert len(series) == 30 and series[-1]["day"] == timezone.now().date()
        assert series[-1]["sold"] == Decimal("50.00")
        assert series[-1]["consumed"] == Decimal("121.00")  # 30 - 4 + 95
        assert all(row["sold"] == 0 and row["consumed"] == 0 for row in series[:-1])

    def test_older_entries_fall_on_their_own_day_or_out_of_range(self, organization, activity):
        CreditLedgerEntry.objects.filter(reference="cts_x").update(
            created_at=timezone.now() - timedelta(days=3)
        )
        CreditLedgerEntry.objects.filter(reference="cts_y").update(
            created_at=timezone.now() - timedelta(days=40)
        )
        series = selectors.credits_daily(days=30, organization_id=None)
        assert series[-4]["consumed"] == Decimal("30.00")
        assert series[-1]["consumed"] == Decimal("-4.00")  # only the refund is left today
        assert sum(row["consumed"] for row in selectors.credits_daily(days=90)) == Decimal("121.00")

    def test_biggest_consumers_net_of_refunds(self, organization, other_organization, activity):
        rows = selectors.biggest_consumers(days=30)
        assert [(r["organization"], r["consumed"]) for r in rows] == [
            (other_organization, Decimal("95.00")),
            (organization, Decimal("26.00")),
        ]

    def test_test_mode_sandboxes_are_left_out_of_the_business_figures(
        self, organization, other_organization, activity
    ):
        sandbox = services.organization_sandbox(organization=organization)
        # 10 play credits left: under the default threshold, but not a business figure.
        services.credits_charge(organization_id=sandbox.id, amount=90, reference="cts_test")

        assert selectors.credits_daily(days=30)[-1]["consumed"] == Decimal("121.00")
        assert sandbox not in [row["organization"] for row in selectors.biggest_consumers(days=30)]
        assert list(selectors.organizations_low_on_credits()) == [other_organization]
        # One sandbox asked for by id still shows its own flow (its overview page).
        own = selectors.credits_daily(days=30, organization_id=sandbox.id)
        assert own[-1]["consumed"] == Decimal("90.00")


class TestBillingDashboard:
    def test_billing_staff_see_charts_low_balances_consumers_and_top_ups(
        self, client, billing_staff, activity, other_organization
    ):
        client.force_login(billing_staff)
        page = client.get(BILLING)
        html = page.content.decode()
        assert page.status_code == 200
        assert html.count('<svg class="console-chart"') == 2
        assert "Credits sold per day, last 30 days" in html
        assert list(page.context["low"]) == [other_organization]  # 5 credits, threshold 20
        assert "Inv 1" in html and page.context["sold"] == Decimal("50.00")
        assert page.context["can_add_credits"] is True
        assert "<script" not in html.split('id="credits-sold"')[1]  # server-drawn, no chart script

    def test_the_period_switches_to_90_days_and_ignores_anything_else(self, client, billing_staff):
        client.force_login(billing_staff)
        assert client.get(BILLING + "?days=90").context["days"] == 90
        assert client.get(BILLING + "?days=7").context["days"] == 30
        assert client.get(BILLING + "?days=x").context["days"] == 30

    def test_support_may_look_but_gets_no_add_credits_buttons(self, client, support_staff, activity):
        client.force_login(support_staff)
        page = client.get(BILLING)
        assert page.status_code == 200 and page.context["can_add_credits"] is False
        assert "add-credits" not in page.content.decode()

    def test_partners_and_anonymous_users_are_sent_to_the_login(self, client, owner, activity):
        assert client.get(BILLING).status_code == 302
        client.force_login(owner)
        assert client.get(BILLING).status_code == 302

    def test_organization_names_are_escaped(self, client, billing_staff):
        organization = make_organization(name="<script>alert(1)</script>")
        services.credits_charge(organization_id=organization.id, amount=90, reference="cts_z")
        client.force_login(billing_staff)
        html = client.get(BILLING).content.decode()
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


class TestOrganizationOverview:
    def test_support_sees_balance_keys_sessions_webhooks_and_errors(
        self, client, support_staff, organization, api_key_for, make_cart_session, settings
    ):
        key, _ = api_key_for(organization, name="Checkout key")
        # Through the usage flush's own store: the log entries and the rollups the sparkline reads.
        now = timezone.now().timestamp()
        request_log_store(
            rows=[(key.pk, "GET", "/api/v1/customers", 200, 3, now - d * 86400) for d in (0, 0, 1, 5)],
            organization_of={key.pk: organization.id},
        )
        session = make_cart_session(["https://shop.example/1.png"])
        TryOn.objects.filter(session=session).update(
            status="failed", error_code="GARMENT_UNREACHABLE", error="Garment image could not be fetched"
        )
        client.force_login(support_staff)

        page = client.get(overview_url(organization))

        html = page.content.decode()
        assert page.status_code == 200
        assert "Checkout key" in html and 'class="console-sparkline"' in html
        [row] = page.context["keys"]
        assert row["requests"] == 4 and row["daily"][-1] == 2 and row["daily"][-2] == 1
        assert page.context["sessions_by_status"]["queued"] == 1
        assert session.pk in html
        assert "GARMENT_UNREACHABLE" in html
        assert page.context["can_add_credits"] is False

    def test_an_unknown_organization_is_a_404(self, client, support_staff):
        client.force_login(support_staff)
        assert client.get(reverse("console:organization", args=["org_nope"])).status_code == 404


class TestSearch:
    @pytest.mark.parametrize("kind", ["organization", "key", "session"])
    def test_an_id_opens_its_page(
        self, client, support_staff, organization, api_key_for, make_cart_session, kind
    ):
        key, raw = api_key_for(organization)
        session = make_cart_session(["https://shop.example/1.png"])
        target = {"organization": organization, "key": key, "session": session}[kind]
        client.force_login(support_staff)

        response = client.post(SEARCH, {"q": f"  {target.pk} "})

        meta = target._meta
        assert response.status_code == 302
        assert response["Location"] == reverse(
            f"admin:{meta.app_label}_{meta.model_name}_change", args=[quote(target.pk)]
        )

    def test_a_pasted_key_finds_its_key_by_prefix_only(
        self, client, support_staff, organization, api_key_for
    ):
        key, raw = api_key_for(organization)
        client.force_login(support_staff)
        response = client.post(SEARCH, {"q": raw})
        assert response["Location"].endswith(f"/{quote(key.pk)}/change/")

    def test_a_pasted_test_mode_key_finds_its_key_by_prefix_only(
        self, client, support_staff, organization, api_key_for
    ):
        key, raw = api_key_for(organization, mode="test")
        assert raw.startswith("gx_test_")
        client.force_login(support_staff)
        response = client.post(SEARCH, {"q": raw})
        assert response.status_code == 302 and response["Location"].endswith(f"/{quote(key.pk)}/change/")
        missing = client.post(SEARCH, {"q": "gx_test_zzzzzzzz" + "0" * 40})
        assert "No API key has the prefix gx_test_zzzzzzzz." in missing.content.decode()

    def test_the_unknown_id_message_names_both_key_prefixes(self, client, support_staff):
        client.force_login(support_staff)
        page = client.post(SEARCH, {"q": "hello"}).content.decode()
        assert "gx_live_" in page and "gx_test_" in page

    def test_an_event_id_opens_its_deliveries(self, client, support_staff, organization):
        from webhooks.services import webhook_event_record

        event = webhook_event_record(organization_id=organization.id, event="credits.low", data={})
        client.force_login(support_staff)
        response = client.get(SEARCH, {"q": event.pk})
        assert response.status_code == 302 and event.pk in response["Location"]

    @pytest.mark.parametrize(
        "query,message",
        [
            ("cts_doesnotexist", "No cart try-on session has the id cts_doesnotexist."),
            ("hello", "Not an id this console knows."),
            ("req_0123abcd", "is a request id"),
        ],
    )
    def test_what_cannot_be_found_says_why(self, client, support_staff, query, message):
        client.force_login(support_staff)
        page = client.post(SEARCH, {"q": query})
        assert page.status_code == 200 and message in page.content.decode()

    def test_the_search_box_is_on_every_admin_page(self, client, support_staff):
        client.force_login(support_staff)
        assert 'id="console-search"' in client.get(reverse("admin:index")).content.decode()
