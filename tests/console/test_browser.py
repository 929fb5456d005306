"""The console as staff use it, in a real browser (Chromium driven by Selenium) against a live server.

Billing staff add credits, adjust, and export the ledger (the downloaded files are read back); support staff
see everything but cannot add credits or cancel sessions, and revoke a key that then fails the partner's
next request. Every page visited is saved as a screenshot under screenshots/console/ (see the README).
"""

import csv
import io
from decimal import Decimal

import pytest
import requests
from django.contrib.admin.utils import quote
from django.urls import reverse
from openpyxl import load_workbook

from organizations.models import CreditLedgerEntry
from tests.browser import Browser, browsers, needs_chromium
from tests.factories import PASSWORD, UserFactory, make_organization
from tryons.models import CartTryOnSession

pytestmark = [pytest.mark.slow, needs_chromium]


class Staff(Browser):
    """A staff member's browser: the admin's sign-in and its messages."""

    def log_in(self, username: str):
        self.visit("/admin/login/")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(PASSWORD)
        self.submit("input[type=submit]")
        self.find("#console-nav")

    def message(self) -> str:
        return self.find("ul.messagelist").text


@pytest.fixture
def browser_for(live_server, tmp_path):
    yield from browsers(live_server, tmp_path, "console", Staff)


@pytest.mark.django_db(transaction=True)
def test_billing_staff_add_credits_adjust_and_export_the_ledger(browser_for):
    UserFactory(username="billie", is_staff=True, groups=["billing"])
    owner = UserFactory(username="acme-owner")
    shop = make_organization(owner=owner, name="Acme Fashion", billing_email="billing@acme.example")
    change_page = reverse("admin:organizations_organization_change", args=[quote(shop.pk)])
    billing = browser_for("billing")
    billing.log_in("billie")

    billing.visit(change_page, shot="organization")
    billing.submit('a[href$="/add-credits/"]')
    billing.fill("#id_amount", "250")
    billing.fill("#id_description", "Invoice 2026-001")
    billing.submit("input[name=_preview]")
    assert billing.find("#preview-before").text == "100.00"
    assert billing.find("#preview-after").text == "350.00"
    billing.screenshot("add-credits-preview")
    billing.submit("input[name=_confirm]")
    assert "balance 100.00 → 350.00" in billing.message()
    billing.screenshot("add-credits-done")

    billing.submit('a[href$="/adjust-credits/"]')
    billing.fill("#id_amount", "-400")
    billing.fill("#id_description", "Chargeback")
    billing.submit("input[name=_preview]")
    assert "can never go below 0" in billing.find("#money-form").text  # refused before any preview
    billing.screenshot("adjust-refused")
    billing.fill("#id_amount", "-50")
    billing.submit("input[name=_preview]")
    assert billing.find("#preview-after").text == "300.00"
    billing.submit("input[name=_confirm]")
    assert "balance 350.00 → 300.00" in billing.message()

    billing.visit(
        reverse("admin:organizations_creditledgerentry_changelist") + f"?organization__id__exact={shop.pk}",
        shot="ledger",
    )
    rows = list(csv.DictReader(io.StringIO(billing.download("#export-csv", ".csv").read_text())))
    assert [(r["kind"], r["amount"], r["actor"], r["description"]) for r in rows] == [
        ("adjustment", "-50.00", "billie", "Chargeback"),
        ("top_up", "250.00", "billie", "Invoice 2026-001"),
        ("grant", "100.00", "acme-owner", "Signup credit grant"),
    ]
    sheet = load_workbook(billing.download("#export-xlsx", ".xlsx"), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:5] == ("id", "createdAt", "organizationId", "organizationName", "kind")
    assert [row[4] for row in values[1:]] == ["adjustment", "top_up", "grant"]

    shop.refresh_from_db()
    assert shop.credits == Decimal("300.00") == sum(e.amount for e in shop.ledger_entries.all())
    billing.visit(reverse("admin:organizations_organization_history", args=[quote(shop.pk)]), shot="history")
    assert "reason: Chargeback" in billing.find("#change-history").text

    billing.visit(reverse("console:billing"), shot="dashboard")
    assert len(billing.finds("svg.console-chart")) == 2
    assert billing.find("#credits-sold .console-figure").text == "250.00"
    assert "Invoice 2026-001" in billing.find("#recent-top-ups").text
    assert CreditLedgerEntry.objects.filter(actor__username="billie").count() == 2


@pytest.mark.django_db(transaction=True)
def test_support_sees_everything_cannot_add_credits_or_cancel_and_revokes_a_key(
    browser_for, live_server, api_key_for
):
    UserFactory(username="sam", is_staff=True, groups=["support"])
    shop = make_organization(name="Acme Fashion")
    # A queued session as a row only: created through the service it would be queued to a worker.
    session = CartTryOnSession.objects.create(
        organization=shop,
        cart_id="cart_browser",
        render_quality="sd",
        content_hash="0" * 64,
        item_count=1,
        credits_required=1,
    )
    key, raw_key = api_key_for(shop, name="Storefront")
    partner = {"X-API-Key": raw_key}
    assert requests.get(f"{live_server.url}/api/v1/customers", headers=partner, timeout=10).status_code == 200
    support = browser_for("support")
    support.log_in("sam")

    support.visit(reverse("console:organization", args=[shop.pk]), shot="organization-overview")
    assert "Storefront" in support.find("#keys").text
    assert "100.00 credits" in support.find("#balance").text
    assert not support.finds('#balance a[href$="/add-credits/"]')

    support.visit(reverse("admin:organizations_organization_add_credits", args=[quote(shop.pk)]))
    assert "Only billing staff" in support.message()
    support.screenshot("add-credits-refused")
    shop.refresh_from_db()
    assert shop.credits == Decimal("100.00")

    support.visit(reverse("admin:tryons_carttryonsession_changelist"), shot="sessions")
    assert session.pk in support.find("#result_list").text
    actions = [o.get_attribute("value") for o in support.finds("select[name=action] option")]
    assert "cancel_sessions" not in actions

    # Search by the key's id, then revoke it through the confirmation page.
    support.find("#console-search input[name=q]").send_keys(key.pk)
    support.submit("#console-search input[type=submit]")
    assert key.key_prefix in support.find("#content").text
    support.screenshot("key")
    support.visit(reverse("admin:apikeys_apikey_changelist"))
    support.find(f'input.action-select[value="{key.pk}"]').click()
    support.find("select[name=action] option[value=revoke_selected]").click()
    support.submit("button[name=index]")
    support.screenshot("revoke-confirm")
    support.submit("#content form input[type=submit]")
    assert "Revoked 1 key" in support.message()
    support.screenshot("revoked")

    response = requests.get(f"{live_server.url}/api/v1/customers", headers=partner, timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "InvalidApiKey"


@pytest.mark.django_db(transaction=True)
def test_staff_save_and_suspend_an_organization_with_a_big_ledger_and_confirm_add_credits_once(browser_for):
    """Issue 27 M1-M3 in a browser: a 2,000-entry ledger is shown paged below the form, Save and suspension
    post only the organization's fields and keep the balance, and a confirmation sent three times (twice at
    once, then the button) adds the credits once and then shows that first result."""
    from tests.organizations.test_admin_over_http import big_ledger, ledger_audit

    UserFactory(username="olive", is_staff=True, is_superuser=True)
    shop = make_organization(name="Acme Fashion")
    big_ledger(shop, 2000)
    change_page = reverse("admin:organizations_organization_change", args=[quote(shop.pk)])
    staff = browser_for("ops")
    staff.log_in("olive")

    staff.visit(change_page, shot="big-ledger-organization")
    assert "2001 entries" in staff.find("#ledger").text
    assert staff.find("#ledger-pages").text.startswith("Page 1 of 81")
    staff.driver.set_window_size(1400, 3200)  # the whole page: the ledger sits below the form
    staff.screenshot("big-ledger-paged")
    staff.driver.set_window_size(1400, 1100)
    staff.fill("#id_name", "Acme Fashion EU")
    staff.find("#id_status option[value=suspended]").click()
    staff.submit("input[name=_save]")
    assert "was changed successfully" in staff.message()
    staff.screenshot("big-ledger-saved-suspended")
    shop.refresh_from_db()
    assert (shop.name, shop.status) == ("Acme Fashion EU", "suspended")
    assert ledger_audit(shop.pk) == (Decimal("100.00"), Decimal("100.00"), 0)

    staff.visit(change_page)
    staff.submit('a[href$="/add-credits/"]')
    staff.fill("#id_amount", "25")
    staff.fill("#id_description", "Invoice 2026-9")
    staff.submit("input[name=_preview]")
    staff.screenshot("add-credits-preview-once")
    # The page sends its confirmation twice at once (as a double click can), with the browser's own session
    # and CSRF token, then staff press Confirm as well.
    statuses = staff.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const form = document.getElementById("money-confirm");
        const body = () => new FormData(form);
        const send = () => fetch(location.href, {method: "POST", body: body(), redirect: "manual"});
        Promise.all([send(), send()]).then((answers) => done(answers.map((a) => a.type + ":" + a.status)));
        """
    )
    assert statuses == ["opaqueredirect:0", "opaqueredirect:0"]  # both answered with a redirect
    staff.submit("input[name=_confirm]")
    assert "already applied" in staff.message()
    staff.screenshot("add-credits-confirmed-three-times")
    top_ups = CreditLedgerEntry.objects.filter(organization=shop, kind="top_up")
    assert [entry.amount for entry in top_ups] == [Decimal("25.00")]
    assert ledger_audit(shop.pk) == (Decimal("125.00"), Decimal("125.00"), 0)
