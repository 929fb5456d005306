"""The credit events organizations sends (api.events): a top-up, and a charge crossing the low-balance
threshold. Both are emitted inside the transaction of the balance change."""

from rest_framework import serializers

from api.events import event_type_declare
from organizations.credit_numbers import CreditsField
from organizations.models import CreditLedgerEntry, credits_number
from organizations.partner_ids import partner_organization_id


class CreditsLowEventDataSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    balance = CreditsField(help_text="The balance after the charge that crossed the threshold.")
    threshold = CreditsField(help_text="The organization's lowBalanceThreshold.")
    reference = serializers.CharField(help_text="What was charged, e.g. a cart session id.")


class CreditsAddedEventDataSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    amount = CreditsField()
    balance = CreditsField(help_text="The balance after the top-up.")
    description = serializers.CharField(allow_blank=True)


def _credits_low_data(*, entry: CreditLedgerEntry, threshold) -> dict:
    return {
        "organizationId": partner_organization_id(entry.organization_id),
        "balance": credits_number(entry.balance_after),
        "threshold": credits_number(threshold),
        # The charge that crossed the threshold (e.g. a cart session id).
        "reference": entry.reference,
    }


def _credits_added_data(*, entry: CreditLedgerEntry) -> dict:
    return {
        "organizationId": partner_organization_id(entry.organization_id),
        "amount": credits_number(entry.amount),
        "balance": credits_number(entry.balance_after),
        "description": entry.description,
    }


CREDITS_LOW = event_type_declare(
    name="credits.low",
    owner="organizations",
    description="A charge took the balance from above the organization's lowBalanceThreshold to at or "
    "below it. Sent once; re-armed when a top-up lifts the balance above the threshold.",
    data=CreditsLowEventDataSerializer,
    build=_credits_low_data,
    example={"organizationId": "org_abc123", "balance": 18, "threshold": 20, "reference": "cts_abc123"},
)
CREDITS_ADDED = event_type_declare(
    name="credits.added",
    owner="organizations",
    description="Credits were added to the balance (a top-up).",
    data=CreditsAddedEventDataSerializer,
    build=_credits_added_data,
    example={
        "organizationId": "org_abc123",
        "amount": 1000,
        "balance": 1018,
        "description": "Monthly credit purchase",
    },
)
