from decimal import Decimal

import pytest
from django.db.models import Sum

from api.errors import Forbidden, InsufficientCredits, ValidationError
from organizations import services
from organizations.models import CreditLedgerEntry, Organization
from tests.concurrency import run_concurrently
from tests.factories import make_organization


def ledger_sum(organization) -> Decimal:
    return CreditLedgerEntry.objects.filter(organization=organization).aggregate(total=Sum("amount"))["total"]


@pytest.mark.django_db
class TestCharges:
    def test_charge_records_a_ledger_row_and_lowers_the_balance(self, organization):
        entry = services.credits_charge(
            organization_id=organization.id, amount=Decimal("3.60"), reference="cts_1"
        )
        organization.refresh_from_db()
        assert organization.credits == Decimal("96.40")
        assert entry.amount == Decimal("-3.60") and entry.balance_after == Decimal("96.40")
        assert ledger_sum(organization) == organization.credits

    def test_charging_more_than_the_balance_changes_nothing(self, organization):
        with pytest.raises(InsufficientCredits) as error:
            services.credits_charge(organization_id=organization.id, amount=101, reference="cts_big")
        assert error.value.details == {"required": 101, "available": 100, "organizationId": organization.id}
        organization.refresh_from_db()
        assert organization.credits == Decimal("100.00")
        assert not CreditLedgerEntry.objects.filter(kind="charge").exists()

    def test_the_same_reference_is_charged_once(self, organization):
        first = services.credits_charge(organization_id=organization.id, amount=4, reference="cts_same")
        second = services.credits_charge(organization_id=organization.id, amount=4, reference="cts_same")
        assert first.pk == second.pk
        organization.refresh_from_db()
        assert organization.credits == Decimal("96.00")

    def test_a_new_reference_is_charged_without_a_savepoint_and_all_or_nothing(self, organization):
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext

        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            entry = services.credits_charge(
                organization_id=organization.id, amount=5, reference="cts_new", new_reference=True
            )
        assert not [query for query in queries.captured_queries if "SAVEPOINT" in query["sql"]]
        assert entry.balance_after == Decimal("95.00") and ledger_sum(organization) == Decimal("95.00")

        with pytest.raises(InsufficientCredits), transaction.atomic():
            services.credits_charge(
                organization_id=organization.id, amount=96, reference="cts_big", new_reference=True
            )
        organization.refresh_from_db()
        assert organization.credits == Decimal("95.00")
        assert not CreditLedgerEntry.objects.filter(reference="cts_big").exists()

    def test_a_charge_of_an_organization_that_does_not_exist_raises(self):
        with pytest.raises(Organization.DoesNotExist):
            services.credits_charge(organization_id="org_missing", amount=1, reference="cts_x")

    def test_the_same_reference_is_refunded_once(self, organization):
        services.credits_charge(organization_id=organization.id, amount=4, reference="cts_r")
        services.credits_refund(organization_id=organization.id, amount=4, reference="cts_r:cancel")
        services.credits_refund(organization_id=organization.id, amount=4, reference="cts_r:cancel")
        organization.refresh_from_db()
        assert organization.credits == Decimal("100.00")
        assert CreditLedgerEntry.objects.filter(kind="refund").count() == 1

    def test_refund_of_zero_records_nothing(self, organization):
        assert services.credits_refund(organization_id=organization.id, amount=0, reference="x") is None
        assert not CreditLedgerEntry.objects.filter(kind="refund").exists()

    @pytest.mark.parametrize("amount", [0, -5, "abc", "NaN", "Infinity"])
    def test_a_charge_must_be_a_positive_number(self, organization, amount):
        with pytest.raises(ValidationError):
            services.credits_charge(organization_id=organization.id, amount=amount, reference="bad")


@pytest.mark.django_db
class TestTopUps:
    def test_only_billing_staff_may_top_up(self, organization, owner, support_staff, billing_staff):
        for user in (owner, support_staff):
            with pytest.raises(Forbidden):
                services.credits_top_up(organization=organization, amount=10, actor=user)
        entry = services.credits_top_up(organization=organization, amount="10.50", actor=billing_staff)
        assert entry.balance_after == Decimal("110.50") and entry.actor == billing_staff

    def test_signup_grant_follows_the_setting(self, settings):
        settings.SIGNUP_CREDIT_GRANT = 25
        organization = make_organization()
        assert organization.credits == Decimal("25.00")
        assert ledger_sum(organization) == Decimal("25.00")

    def test_adjustment_cannot_take_the_balance_below_zero(self, organization, billing_staff):
        with pytest.raises(InsufficientCredits):
            services.credits_adjust(
                organization=organization, amount=-101, description="chargeback", actor=billing_staff
            )
        services.credits_adjust(
            organization=organization, amount=-100, description="chargeback", actor=billing_staff
        )
        organization.refresh_from_db()
        assert organization.credits == 0 and ledger_sum(organization) == 0


def _run_in_threads(count, target):
    """Each thread's outcome: its return value or the exception it raised (the tests inspect both)."""
    return run_concurrently(target, count, return_exceptions=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestLedgerUnderConcurrency:
    def test_32_threads_charging_one_organization_never_overspend(self):
        organization = make_organization()  # 100 credits
        amount = Decimal("7.00")

        results = _run_in_threads(
            32,
            lambda i: services.credits_charge(
                organization_id=organization.id, amount=amount, reference=f"cts_{i}"
            ),
        )

        successes = [r for r in results if isinstance(r, CreditLedgerEntry)]
        failures = [r for r in results if isinstance(r, InsufficientCredits)]
        assert len(successes) + len(failures) == 32, [r for r in results if isinstance(r, Exception)]
        assert len(successes) == 14  # floor(100 / 7)
        organization.refresh_from_db()
        assert organization.credits == Decimal("100.00") - amount * len(successes)
        assert organization.credits >= 0
        assert ledger_sum(organization) == organization.credits

    def test_concurrent_duplicates_of_one_reference_charge_once(self):
        organization = make_organization()
        results = _run_in_threads(
            16,
            lambda i: services.credits_charge(organization_id=organization.id, amount=5, reference="cts_dup"),
        )
        assert all(isinstance(r, CreditLedgerEntry) for r in results), results
        assert len({r.pk for r in results}) == 1
        organization.refresh_from_db()
        assert organization.credits == Decimal("95.00")
        assert ledger_sum(organization) == organization.credits

    def test_concurrent_top_ups_and_charges_keep_balance_equal_to_ledger(self, billing_staff):
        organization = make_organization()

        def work(i):
            if i % 2:
                return services.credits_top_up(organization=organization, amount=3, actor=billing_staff)
            return services.credits_charge(organization_id=organization.id, amount=9, reference=f"c{i}")

        _run_in_threads(24, work)
        organization.refresh_from_db()
        assert organization.credits >= 0
        assert ledger_sum(organization) == organization.credits
        assert Organization.objects.get(pk=organization.pk).credits == organization.credits
