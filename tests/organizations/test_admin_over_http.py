"""The staff console's money, attacked from outside: staff scripting the admin over HTTP against the README's
production command while partners charge the same organization through the API (issue 27, M1-M3).

Data is built with the ORM; everything after that is HTTP: the admin through its login form and pages
(tests/organizations/admin_http.py), partners through /api/v1 with a real key.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.contrib.admin.utils import quote
from django.urls import reverse

from organizations import services
from organizations.models import CreditLedgerEntry, Organization
from tests.factories import UserFactory, make_organization
from tests.images import person_jpeg
from tests.live_service import LiveService
from tests.organizations.admin_http import AdminSession, change_path, form_fields

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.usefixtures("service_password_hasher")]

PARTNER_THREADS = 24


@pytest.fixture
def live_service(django_db_setup, tmp_path):
    """The README's production command, one per test: transactional_db's flush after a test re-creates the
    content types and permissions under new ids, and the admin's history (LogEntry) in a worker that cached
    the old ones would fail."""
    service = LiveService(tmp_path).start()
    yield service
    service.stop()


def ledger_audit(organization_id: str) -> tuple[Decimal, Decimal, int]:
    """(balance, ledger sum, rows whose balance_after is not the running sum in insertion order)."""
    running, mismatched = Decimal("0"), 0
    for amount, balance_after in (
        CreditLedgerEntry.objects.filter(organization_id=organization_id)
        .order_by("id")
        .values_list("amount", "balance_after")
    ):
        running += amount
        mismatched += balance_after != running
    balance = Organization.objects.values_list("credits", flat=True).get(pk=organization_id)
    return balance, running, mismatched


def superuser(username: str):
    return UserFactory(username=username, is_staff=True, is_superuser=True)


class Partner:
    """A partner's storefront: one customer photo, then one-item carts, each charging 1 credit."""

    def __init__(self, service, raw_key: str):
        self.service, self.headers = service, {"X-API-Key": raw_key}
        created = requests.post(
            service.url("/api/v1/customers"), json={"externalId": "shopper"}, headers=self.headers, timeout=30
        )
        assert created.status_code == 201, created.text
        photo = requests.post(
            service.url("/api/v1/customers/shopper/photos"),
            files={"photo": ("me.jpg", person_jpeg(), "image/jpeg")},
            headers=self.headers,
            timeout=30,
        )
        assert photo.status_code == 200, photo.text
        self.photo_key = photo.json()["photoS3Key"]

    def create_cart(self, http: requests.Session, cart_id: str) -> int:
        body = {
            "cartId": cart_id,
            "customerPhotoS3Key": self.photo_key,
            "renderQuality": "sd",
            "cartItems": [
                {"productId": "prod_1", "imageUrl": "https://shop.example/tee.png", "category": "tops"}
            ],
        }
        return http.post(
            self.service.url("/api/v1/cart-tryons"), json=body, headers=self.headers, timeout=60
        ).status_code


@pytest.mark.slow
def test_saving_and_suspending_an_organization_in_the_admin_while_24_threads_charge_it_keeps_the_ledger_exact(
    live_service, transactional_db, api_key_for
):
    """M1: every admin Save wrote the whole row, so the balance read when the POST began overwrote every
    charge committed meanwhile (credits from nothing, balance_after off the running sum)."""
    staff = superuser("ops")
    organization = make_organization(name="Acme Fashion")
    services.credits_top_up(organization=organization, amount=900, actor=staff, description="Invoice 1")
    # The threshold sits inside the range the charges cross: a stale save would also re-arm the alert.
    services.organization_update(organization=organization, data={"settings": {"lowBalanceThreshold": 700}})
    _, raw_key = api_key_for(organization, rate_limit=10_000)
    partner = Partner(live_service, raw_key)
    admin = AdminSession(live_service, "ops")
    statuses: list[int] = []
    staff_done = threading.Event()

    def charge(thread: int) -> None:
        http = requests.Session()
        for n in range(30):  # at most 720 credits of the 1,000: never refused for the balance
            if staff_done.is_set():
                return
            statuses.append(partner.create_cart(http, f"cart_{thread}_{n}"))

    saves, suspensions, save_statuses = 12, 3, []
    with ThreadPoolExecutor(PARTNER_THREADS) as pool:
        futures = [pool.submit(charge, thread) for thread in range(PARTNER_THREADS)]
        try:
            for n in range(saves):
                save_statuses.append(
                    admin.save_organization(organization.pk, name=f"Acme Fashion {n}").status_code
                )
                if n % (saves // suspensions) == 0:
                    for status in ("suspended", "active"):
                        save_statuses.append(
                            admin.save_organization(organization.pk, status=status).status_code
                        )
        finally:
            staff_done.set()
        for future in futures:
            future.result()

    balance, ledger_sum, mismatched = ledger_audit(organization.pk)
    charges = CreditLedgerEntry.objects.filter(organization=organization, kind="charge").count()
    print(
        f"\nM1 race: {PARTNER_THREADS} threads, {len(statuses)} cart creates ({statuses.count(200)} charged, "
        f"{statuses.count(401)} refused while suspended), {len(save_statuses)} admin saves incl. "
        f"{suspensions} suspend/reactivate cycles; balance {balance}, ledger sum {ledger_sum}, "
        f"{mismatched} of {charges + 2} ledger rows off the running sum"
    )
    assert balance == ledger_sum == Decimal("1000.00") - charges
    assert mismatched == 0
    assert charges == statuses.count(200) > 0
    assert save_statuses == [302] * (saves + 2 * suspensions)
    organization.refresh_from_db()
    assert organization.name.startswith("Acme Fashion") and organization.status == "active"
    assert organization.low_balance_alerted_at is not None  # crossed 700 on the way down, and stays alerted


def test_the_organization_form_holds_no_balance_or_alert_field_and_ignores_one_sent(
    live_service, transactional_db
):
    superuser("ops")
    organization = make_organization(name="Acme Fashion")
    admin = AdminSession(live_service, "ops")
    names = {name for name, _ in admin.organization_form(organization.pk)}
    assert {"name", "status", "settings"} <= names
    assert not names & {"credits", "low_balance_alerted_at"}

    fields = [
        *admin.organization_form(organization.pk),
        ("credits", "999999"),
        ("low_balance_alerted_at", "x"),
    ]
    assert admin.post(change_path(organization.pk), [*fields, ("_save", "Save")]).status_code == 302
    assert ledger_audit(organization.pk) == (Decimal("100.00"), Decimal("100.00"), 0)


def add_credits_path(organization_id: str, verb: str = "add") -> str:
    return reverse(f"admin:organizations_organization_{verb}_credits", args=[quote(organization_id)])


def previewed_confirmation(admin: AdminSession, path: str, amount: str, reason: str) -> list:
    """Fill the money form, press Preview, and return the confirmation form's fields as shown."""
    form = dict(form_fields(admin.get(path).text, "money-form"))
    preview = admin.post(path, {**form, "amount": amount, "description": reason, "_preview": "Preview"})
    assert preview.status_code == 200, preview.status_code
    return form_fields(preview.text, "money-confirm")


@pytest.mark.parametrize("verb,kind,amount", [("add", "top_up", "25.00"), ("adjust", "adjustment", "-25.00")])
def test_a_money_confirmation_posted_twice_at_once_and_then_resubmitted_changes_the_balance_once(
    live_service, transactional_db, verb, kind, amount
):
    """M2: two simultaneous confirm POSTs from one billing session gave two top-ups, a resubmit a third."""
    UserFactory(username="billie", is_staff=True, groups=["billing"])
    organization = make_organization(name="Acme Fashion")
    admin = AdminSession(live_service, "billie")
    path = add_credits_path(organization.pk, verb)
    confirmation = [*previewed_confirmation(admin, path, amount, "Invoice 2026-7"), ("_confirm", "Confirm")]

    barrier = threading.Barrier(2)

    def confirm():
        barrier.wait()
        return admin.post(path, confirmation)

    with ThreadPoolExecutor(2) as pool:
        at_once = [f.result() for f in [pool.submit(confirm), pool.submit(confirm)]]
    resubmitted = admin.post(path, confirmation)

    assert [r.status_code for r in [*at_once, resubmitted]] == [302, 302, 302]
    entries = CreditLedgerEntry.objects.filter(organization=organization, kind=kind)
    assert [e.amount for e in entries] == [Decimal(amount)]
    assert ledger_audit(organization.pk) == (Decimal("100") + Decimal(amount),) * 2 + (0,)
    # The replay shows the first result: the change page says which entry it was, and that nothing changed.
    shown = admin.get(resubmitted.headers["Location"]).text
    assert f"Ledger entry {entries.get().pk}" in shown and "already" in shown


def test_two_billing_staff_sending_one_idempotency_key_to_the_credits_endpoint_top_up_once(
    live_service, transactional_db
):
    """M2 (API): an Idempotency-Key on POST /api/organizations/{id}/credits is scoped to the organization."""
    organization = make_organization(name="Acme Fashion")
    tokens = []
    for username in ("billie", "bob"):
        UserFactory(username=username, is_staff=True, groups=["billing"])
        token = requests.post(
            live_service.url("/api/auth/token"),
            json={"username": username, "password": "correct-horse-battery-staple"},
            timeout=30,
        )
        tokens.append(token.json()["access"])
    url = live_service.url(f"/api/organizations/{organization.pk}/credits")
    body = {"amount": 25, "description": "Invoice 2026-8"}

    def top_up(token):
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "invoice-2026-8"}
        return requests.post(url, json=body, headers=headers, timeout=30)

    first, second = top_up(tokens[0]), top_up(tokens[1])

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json()["entry"]["id"] == first.json()["entry"]["id"]
    assert CreditLedgerEntry.objects.filter(organization=organization, kind="top_up").count() == 1
    # Another organization's top-up under the same key is its own.
    other = make_organization(name="Rival Apparel")
    third = requests.post(
        live_service.url(f"/api/organizations/{other.pk}/credits"),
        json=body,
        headers={"Authorization": f"Bearer {tokens[0]}", "Idempotency-Key": "invoice-2026-8"},
        timeout=30,
    )
    assert third.status_code == 201 and "Idempotent-Replayed" not in third.headers


def big_ledger(organization: Organization, entries: int) -> None:
    """`entries` more ledger rows (charges and refunds of 1 credit), consistent with the balance."""
    balance = organization.credits
    rows = []
    for n in range(entries):
        amount = Decimal("-1.00") if n % 2 == 0 else Decimal("1.00")
        balance += amount
        kind = CreditLedgerEntry.Kind.CHARGE if amount < 0 else CreditLedgerEntry.Kind.REFUND
        rows.append(
            CreditLedgerEntry(
                organization=organization,
                kind=kind,
                amount=amount,
                balance_after=balance,
                reference=f"cts_{n // 2:06d}",
                description="Cart try-on",
            )
        )
    CreditLedgerEntry.objects.bulk_create(rows, batch_size=1000)
    Organization.objects.filter(pk=organization.pk).update(credits=balance)


def test_an_organization_with_2000_ledger_entries_can_be_saved_and_suspended_from_its_admin_page(
    live_service, transactional_db
):
    """M3: every ledger entry was an inline form; past ~490 the POST exceeded 1,000 fields (400)."""
    superuser("ops")
    organization = make_organization(name="Acme Fashion")
    big_ledger(organization, 2000)
    admin = AdminSession(live_service, "ops")

    started = time.monotonic()
    page = admin.get(change_path(organization.pk))
    assert page.status_code == 200
    assert len(form_fields(page.text, "organization_form")) < 50
    saved = admin.save_organization(organization.pk, name="Acme Fashion EU")
    suspended = admin.save_organization(organization.pk, status="suspended")
    assert (saved.status_code, suspended.status_code) == (302, 302), suspended.text[:300]
    organization.refresh_from_db()
    assert (organization.name, organization.status) == ("Acme Fashion EU", "suspended")
    assert admin.save_organization(organization.pk, status="active").status_code == 302
    assert time.monotonic() - started < 20

    # The ledger is on the page, read-only and paged, the full (filterable, exportable) list a click away.
    assert 'id="ledger"' in page.text and "2001 entries" in page.text.replace(",", "")
    oldest = re.search(r'href="\?ledger_page=(\d+)#ledger">oldest', page.text)
    last_page = admin.get(change_path(organization.pk) + f"?ledger_page={oldest.group(1)}")
    assert last_page.status_code == 200 and "Signup credit grant" in last_page.text
    assert "Signup credit grant" not in page.text
    assert f"organization__id__exact={organization.pk}" in page.text
